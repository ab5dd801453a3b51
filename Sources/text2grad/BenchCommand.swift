import Common
import ArgumentParser
import Foundation
import JSON
import Models
import Tensor

/// `text2grad bench`: throughput figures as JSON, for comparison with the `bench/` PyTorch scripts.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput (prints JSON).",
        subcommands: [BenchForward.self, BenchTrain.self, BenchPPO.self, BenchTokenize.self, BenchGenerate.self,
                      BenchMemory.self, BenchPeak.self, BenchAllReduce.self])
}

/// Options every model benchmark shares.
struct BenchModelOptions: ParsableArguments {
    @Option(help: "A model directory to benchmark (default: random weights of --shape).")
    var model: String?

    @Option(help: "A named random shape: \(LlamaConfig.namedShapes.keys.sorted().joined(separator: ", ")).")
    var shape: String = "smollm-135m"

    @Option(help: "Threads for matrix products and kernels.")
    var threads: Int = Compute.defaultThreadCount

    @Option(help: "Timed iterations (min, median and max are reported).")
    var iterations: Int = 5

    @Option(help: "Untimed warm-up iterations.")
    var warmup: Int = 1

    func validate() throws {
        for (name, value) in [("threads", threads), ("iterations", iterations)] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0") }
    }

    /// The model under test, loaded or randomly initialised.
    func loadModel() throws -> (LlamaModel, String) {
        if let model { return (try LlamaModel(directory: model), model) }
        let config = try LlamaConfig(shape: shape)
        let weights = LlamaWeights(config: config)
        weights.randomize(seed: 0)
        return (LlamaModel(config: config, weights: weights), shape)
    }

    /// The seconds of each timed run of `body`, after the warm-up runs.
    func time(_ body: () throws -> Void) rethrows -> BenchSeconds {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return BenchSeconds(times)
    }
}

/// The batch of the throughput benchmarks: sequences and their length.
struct BenchBatchOptions: ParsableArguments {
    @Option(help: "Sequences per batch.")
    var batch: Int = 4

    @Option(help: "Tokens per sequence.")
    var seq: Int = 256

    func validate() throws {
        for (name, value) in [("batch", batch), ("seq", seq)] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
    }
}

/// The seconds of a benchmark's timed runs, in the order they ran, and the spread every bench reports of them.
/// `--threads 1,2`: the thread counts a machine benchmark (`memory`, `peak`) measures one after another.
struct BenchThreadCounts: ParsableArguments {
    @Option(help: "Thread counts to measure, comma-separated.") var threads: String = "1,2"

    var counts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !counts.isEmpty, counts.allSatisfy({ (1...256).contains($0) }) else {
            throw ValidationError("--threads must list counts in 1...256")
        }
    }
}

struct BenchSeconds {
    let all: [Double]

    init<S: Sequence<Double>>(_ times: S) {
        all = Array(times)
        precondition(!all.isEmpty, "no timed runs")
    }

    var min: Double { all.min()! }
    var max: Double { all.max()! }
    /// The middle of the sorted times; the mean of the two middle ones for an even count.
    var median: Double {
        let sorted = all.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// `min_seconds`, `median_seconds`, `max_seconds` and `all_seconds`, for a bench's JSON.
    var fields: JSONValue {
        ["min_seconds": JSONValue(min), "median_seconds": JSONValue(median), "max_seconds": JSONValue(max),
         "all_seconds": .array(all.map { JSONValue($0) })]
    }
}

extension JSONValue {
    /// An object of `values`.
    static func numbers(_ values: [String: Double]) -> JSONValue {
        .object(values.sorted { $0.key < $1.key }.map { ($0.key, JSONValue($0.value)) })
    }

    /// This object with each member of `other` set over it.
    func merging(_ other: JSONValue) -> JSONValue {
        var merged = self
        for (key, value) in other.objectValue ?? [] { merged[key] = value }
        return merged
    }
}

struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward", abstract: "Forward pass (all logits) of a batch: tokens/s and GFLOP/s.")

    @OptionGroup var options: BenchModelOptions
    @OptionGroup var sizes: BenchBatchOptions

    func run() throws {
        Compute.useThreads(options.threads)
        let (model, name) = try options.loadModel()
        var rng = SplitMix64(seed: 1)
        let sequences = (0..<sizes.batch).map { _ in
            (0..<sizes.seq).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }
        }
        let batch = TokenBatch(sequences: sequences)
        let activations = LlamaActivations(config: model.config, batchSize: sizes.batch, length: sizes.seq)
        let seconds = try options.time { try model.forward(batch, activations: activations) }
        let median = seconds.median
        let tokens = Double(sizes.batch * sizes.seq)
        let flops = model.config.forwardFlopsPerToken(contextLength: sizes.seq) * tokens
        try StandardOutput.line(JSONLines.encode(seconds.fields.merging([
            "bench": "forward", "engine": "text2grad", "model": JSONValue(name), "batch": JSONValue(sizes.batch),
            "seq": JSONValue(sizes.seq), "threads": JSONValue(options.threads), "seconds": JSONValue(median),
            "tokens_per_s": JSONValue(tokens / median), "gflops": JSONValue(flops / median / 1e9),
            "parameters": JSONValue(model.weights.parameterCount),
        ])))
    }
}
