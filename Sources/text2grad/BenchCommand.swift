import Common
import ArgumentParser
import Foundation
import Models
import Tensor

/// `text2grad bench`: throughput figures as JSON, for comparison with the `bench/` PyTorch scripts.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput (prints JSON).",
        subcommands: [BenchForward.self, BenchTrain.self, BenchTokenize.self, BenchGenerate.self, BenchMemory.self,
                      BenchPeak.self, BenchAllReduce.self])
}

/// Options every model benchmark shares.
struct BenchModelOptions: ParsableArguments {
    @Option(help: "A model directory to benchmark (default: random weights of --shape).")
    var model: String?

    @Option(help: "A named random shape: \(LlamaConfig.namedShapes.keys.sorted().joined(separator: ", ")).")
    var shape: String = "smollm-135m"

    @Option(help: "Sequences per batch.")
    var batch: Int = 4

    @Option(help: "Tokens per sequence.")
    var seq: Int = 256

    @Option(help: "Threads for matrix products and kernels.")
    var threads: Int = Compute.defaultThreadCount

    @Option(help: "Timed iterations (the median is reported).")
    var iterations: Int = 5

    @Option(help: "Untimed warm-up iterations.")
    var warmup: Int = 1

    func validate() throws {
        for (name, value) in [("batch", batch), ("seq", seq), ("threads", threads), ("iterations", iterations)] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
    }

    /// The model under test, loaded or randomly initialised.
    func loadModel() throws -> (LlamaModel, String) {
        if let model { return (try LlamaModel(directory: model), model) }
        let config = try LlamaConfig(shape: shape)
        let weights = LlamaWeights(config: config)
        weights.randomize(seed: 0)
        return (LlamaModel(config: config, weights: weights), shape)
    }

    /// Median seconds of `body` over the timed iterations.
    func time(_ body: () throws -> Void) rethrows -> (median: Double, all: [Double]) {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return (times.sorted()[times.count / 2], times)
    }
}

struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward", abstract: "Forward pass (all logits) of a batch: tokens/s and GFLOP/s.")

    @OptionGroup var options: BenchModelOptions

    func run() throws {
        Compute.useThreads(options.threads)
        let (model, name) = try options.loadModel()
        var rng = SplitMix64(seed: 1)
        let sequences = (0..<options.batch).map { _ in
            (0..<options.seq).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }
        }
        let batch = TokenBatch(sequences: sequences)
        let activations = LlamaActivations(config: model.config, batchSize: options.batch, length: options.seq)
        let (median, all) = try options.time { try model.forward(batch, activations: activations) }
        let tokens = Double(options.batch * options.seq)
        let flops = model.config.forwardFlopsPerToken(contextLength: options.seq) * tokens
        try StandardOutput.line(try JSONLines.encode([
            "bench": "forward", "engine": "text2grad", "model": name, "batch": options.batch, "seq": options.seq,
            "threads": options.threads, "seconds": median, "all_seconds": all,
            "tokens_per_s": tokens / median, "gflops": flops / median / 1e9,
            "parameters": model.weights.parameterCount,
        ]))
    }
}
