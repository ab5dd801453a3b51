import Common
import ArgumentParser
import Foundation
import JSON
import Models
import Tensor
import Training

/// `text2grad bench train`: one training step (forward, loss, backward, AdamW) on a batch, full or LoRA.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "A training step (forward + backward + AdamW), all parameters or LoRA: tokens/s and peak memory.",
        discussion: "Run each mode in its own process: peak memory (ru_maxrss) covers the whole process.")

    @OptionGroup var options: BenchModelOptions
    @OptionGroup var sizes: BenchBatchOptions

    @Option(help: "full (every parameter) or lora.")
    var mode: String = "full"

    @Option(help: "LoRA rank (lora mode).")
    var loraRank: Int = 16

    @Option(help: "Comma-separated LoRA targets (lora mode).")
    var loraTargets: String = "q_proj,k_proj,v_proj,o_proj"

    @Option(help: "Products with the frozen base (lora mode): fp32, or bf16 (operands rounded to bf16, fp32 sums).")
    var precision: ProductPrecision = .fp32

    func validate() throws {
        guard ["full", "lora"].contains(mode) else { throw ValidationError("--mode must be full or lora") }
        guard loraRank > 0 else { throw ValidationError("--lora-rank must be positive") }
        guard precision == .fp32 || mode == "lora" else {
            throw ValidationError("--precision bf16 is for a frozen base (--mode lora)")
        }
    }

    func run() throws {
        Compute.useThreads(options.threads)
        let (model, name) = try options.loadModel()
        let c = model.config
        var rng = SplitMix64(seed: 1)
        let sequences = (0..<sizes.batch).map { _ in
            (0..<sizes.seq).map { _ in Int(rng.next() % UInt64(c.vocabSize)) }
        }
        let batch = TokenBatch(sequences: sequences)
        var targets = [Int32](repeating: -1, count: batch.ids.count)
        for b in 0..<sizes.batch {
            for t in 0..<sizes.seq - 1 { targets[b * sizes.seq + t] = Int32(sequences[b][t + 1]) }
        }
        // The step is the training core's: the trained groups (LoRA or every weight), AdamW and clipping by norm.
        var lora: LoRAConfig?
        if mode == "lora" {
            let targetModules = try loraTargets.split(separator: ",").map { name -> LoRAModule in
                guard let m = LoRAModule(rawValue: String(name)) else {
                    throw ValidationError("unknown LoRA target \(name)")
                }
                return m
            }
            lora = LoRAConfig(rank: loraRank, alpha: Double(2 * loraRank), targetModules: targetModules)
            model.productPrecision = precision
        }
        let trainable = TrainableModel(model: model, directory: name, lora: lora, adamw: AdamWConfig(weightDecay: 0.01),
                                       seed: 2)
        let context = StepContext(step: 1, learningRate: 1e-5, reducer: LocalReducer(), trainable: trainable,
                                  maxGradNorm: 1)
        let a = LlamaActivations(config: c, batchSize: sizes.batch, length: sizes.seq, storedLayers: c.layerCount)
        let buffers = LlamaBackwardBuffers(config: c, batchSize: sizes.batch, length: sizes.seq)
        let count = targets.filter { $0 >= 0 }.count
        var lastLoss = 0.0
        var phases: [String: [Double]] = [:]
        func timed(_ phase: String, _ body: () throws -> Void) rethrows {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            phases[phase, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let seconds = try options.time {
            try timed("forward") {
                context.zeroGradients()
                try model.forward(batch, activations: a, logitRows: LlamaModel.logitRows(forTargets: targets))
            }
            timed("loss") {
                let (sum, n) = model.crossEntropyLossAndGradient(targets: targets, gradientScale: 1 / Float(count),
                                                                 activations: a)
                lastLoss = sum / Double(n)
            }
            timed("backward") {
                model.backward(batch, activations: a, gradients: trainable.weightGradients,
                               adapterGradients: trainable.adapterGradients, buffers: buffers)
            }
            try timed("optimizer") { try context.update() }
        }
        // Median seconds of each phase over the timed iterations (the warm-up ones come first and are dropped).
        let phaseMedians = phases.mapValues { BenchSeconds($0.suffix(options.iterations)).median }
        let median = seconds.median
        let tokens = Double(sizes.batch * sizes.seq)
        // Full: forward + input gradients + weight gradients ≈ 3× the forward; LoRA skips the weight gradients (≈ 2×).
        let flops = model.config.forwardFlopsPerToken(contextLength: sizes.seq) * tokens * (mode == "full" ? 3 : 2)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        try StandardOutput.line(JSONLines.encode(seconds.fields.merging([
            "bench": "train", "mode": JSONValue(mode), "engine": "text2grad", "model": JSONValue(name),
            "batch": JSONValue(sizes.batch), "seq": JSONValue(sizes.seq), "threads": JSONValue(options.threads),
            "precision": JSONValue(precision.rawValue), "seconds": JSONValue(median),
            "tokens_per_s": JSONValue(tokens / median), "gflops": JSONValue(flops / median / 1e9),
            "peak_memory_mib": JSONValue(Double(usage.ru_maxrss) / 1024), "loss": JSONValue(lastLoss),
            "trainable_parameters": JSONValue(trainable.groups.reduce(0) { $0 + $1.parameters.count }),
            "phase_seconds": .numbers(phaseMedians),
        ])))
    }
}
