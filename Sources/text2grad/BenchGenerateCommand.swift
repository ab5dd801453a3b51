import Common
import ArgumentParser
import Foundation
import JSON
import Generation
import Models
import Tensor

/// `text2grad bench generate`: greedy generation throughput with the KV cache, as `bench/torch_generate.py`.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Greedy KV-cached generation: new tokens/s for a batch of random prompts (prints JSON).",
        discussion: "--seq is the prompt length; every sequence generates exactly --new-tokens tokens.")

    @OptionGroup var options: BenchModelOptions
    @OptionGroup var sizes: BenchBatchOptions

    @Option(help: "New tokens per sequence.")
    var newTokens: Int = 128

    @Flag(help: "Sequence i of B generates newTokens·(i+1)/B tokens, as rollouts that end at different lengths.")
    var spread = false

    @Flag(help: "Keep finished sequences in the batch (masked) instead of dropping them from the KV cache.")
    var noCompact = false

    @Option(help: "Precision of the matrices decode steps read: auto (bf16 for a bf16 checkpoint), bf16, fp32.")
    var weights: DecodePrecision = .auto

    @Option(help: "Instruction set of the decode kernels: avx512, avx2 or portable (default: the best this CPU has).")
    var kernels: DecodeKernelSet?

    func validate() throws {
        guard newTokens > 0 else { throw ValidationError("--new-tokens must be positive") }
    }

    func run() throws {
        Compute.useThreads(options.threads)
        if let kernels { DecodeKernelSet.current = kernels }
        let (model, name) = try options.loadModel()
        let precision = model.useDecodePrecision(weights)
        let generator = Generator(model: model)
        generator.compactsFinishedRows = !noCompact
        var rng = SplitMix64(seed: 1)
        var parameters = SamplingParameters()
        parameters.maxNewTokens = newTokens
        parameters.minNewTokens = newTokens
        let requests = (0..<sizes.batch).map { i -> GenerationRequest in
            var p = parameters
            if spread { p.maxNewTokens = max(1, newTokens * (i + 1) / sizes.batch); p.minNewTokens = p.maxNewTokens }
            return GenerationRequest(
                promptIds: (0..<sizes.seq).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }, parameters: p)
        }
        var prefillSeconds = 0.0
        var generated = 0
        let seconds = try options.time {
            let start = DispatchTime.now().uptimeNanoseconds
            var first = true
            let results = try generator.generate(requests, onToken: { _, _ in
                if first {
                    prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    first = false
                }
                return true
            })
            generated = results.reduce(0) { $0 + $1.tokenIds.count }
        }
        let median = seconds.median
        let decodeSeconds = max(seconds.all.last! - prefillSeconds, 1e-9)
        let steps = newTokens - 1
        let bytes = Self.bytesRead(model, batch: sizes.batch, prompt: sizes.seq, steps: steps)
        let bandwidth = Self.readBandwidth()
        try StandardOutput.line(JSONLines.encode(seconds.fields.merging([
            "bench": "generate", "engine": "text2grad", "model": JSONValue(name), "batch": JSONValue(sizes.batch),
            "prompt": JSONValue(sizes.seq), "spread": JSONValue(spread), "compact": JSONValue(!noCompact),
            "weights": JSONValue(precision.rawValue), "kernels": JSONValue(DecodeKernelSet.current.rawValue),
            "new_tokens": JSONValue(newTokens), "threads": JSONValue(options.threads), "seconds": JSONValue(median),
            "tokens_per_s": JSONValue(Double(generated) / median), "prefill_seconds_last": JSONValue(prefillSeconds),
            "prompt_tokens_per_s_last": JSONValue(Double(sizes.batch * sizes.seq) / max(prefillSeconds, 1e-9)),
            "decode_tokens_per_s_last": JSONValue(Double(generated - sizes.batch) / decodeSeconds),
            "decode_bytes_per_step": JSONValue(bytes / Double(max(1, steps))),
            "decode_gb_per_s": JSONValue(bytes / decodeSeconds / 1e9), "read_bandwidth_gb_per_s": JSONValue(bandwidth),
            "decode_bandwidth_fraction": JSONValue(bytes / decodeSeconds / 1e9 / bandwidth),
        ])))
    }

    /// The bytes `steps` decode steps must read at least: every matrix once per step in the precision decoding
    /// reads it (the embedding table as the LM head when tied; one embedding row otherwise, negligible, as are
    /// the norms), and each sequence's keys and values so far in every layer, in fp32.
    static func bytesRead(_ model: LlamaModel, batch B: Int, prompt P: Int, steps: Int) -> Double {
        let c = model.config
        let kvPerToken = Double(2 * c.layerCount * c.kvHeadCount * c.headSize * 4 * B)
        // Step i attends over P + i cached tokens.
        let cached = (0..<steps).reduce(0.0) { $0 + Double(P + $1 + 1) }
        return Double(model.decodeMatrices.bytes) * Double(steps) + kvPerToken * cached
    }

    /// The read bandwidth with the engine's threads (as `bench memory`, on a 512 MiB buffer), GB/s.
    static func readBandwidth() -> Double {
        let count = 512 << 18
        let buffer = allocateFloats(count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        return Double(count * 4) / BenchMemory.passes(buffer, count: count, passes: 4).seconds.min / 1e9
    }
}

extension DecodeKernelSet: ExpressibleByArgument {}
