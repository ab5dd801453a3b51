import Common
import ArgumentParser
import Foundation
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

    @Option(help: "New tokens per sequence.")
    var newTokens: Int = 128

    func validate() throws {
        guard newTokens > 0 else { throw ValidationError("--new-tokens must be positive") }
    }

    func run() throws {
        Compute.useThreads(options.threads)
        let (model, name) = try options.loadModel()
        let generator = Generator(model: model)
        var rng = SplitMix64(seed: 1)
        var parameters = SamplingParameters()
        parameters.maxNewTokens = newTokens
        parameters.minNewTokens = newTokens
        let requests = (0..<options.batch).map { _ in
            GenerationRequest(
                promptIds: (0..<options.seq).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }, parameters: parameters)
        }
        var prefillSeconds = 0.0
        var generated = 0
        let (median, all) = try options.time {
            let start = DispatchTime.now().uptimeNanoseconds
            var first = true
            let results = try generator.generate(requests) { _, _ in
                if first {
                    prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    first = false
                }
                return true
            }
            generated = results.reduce(0) { $0 + $1.tokenIds.count }
        }
        print(try JSONLines.encode([
            "bench": "generate", "engine": "text2grad", "model": name, "batch": options.batch, "prompt": options.seq,
            "new_tokens": newTokens, "threads": options.threads, "seconds": median, "all_seconds": all,
            "tokens_per_s": Double(generated) / median, "prefill_seconds_last": prefillSeconds,
            "decode_tokens_per_s_last": Double(generated - options.batch) / max(all.last! - prefillSeconds, 1e-9),
        ]))
    }
}
