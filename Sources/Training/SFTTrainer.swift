import Foundation
import Models
import Tensor
import Tokenizers

/// One optimizer step's figures, as written to metrics.jsonl.
public struct StepMetrics: Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var tokens: Int
    public var seconds: Double
    public var evalLoss: Double?
}

/// Supervised fine-tuning: masked mean token cross-entropy over target tokens, AdamW, clipping, a schedule,
/// gradient accumulation, held-out evaluation, checkpoints and exact resume.
///
/// A step is: batches → forward/backward per micro-batch → check finite → clip → update → log → eval → save.
public final class SFTTrainer {
    public let config: SFTConfig
    public let model: LlamaModel
    public let train: [SFTExample]
    public let eval: [SFTExample]
    public private(set) var state = TrainerState()
    let gradients: LlamaWeights?
    let adapterGradients: LoRAAdapter?
    let optimizer: AdamW
    let schedule: LearningRateSchedule
    let padId: Int
    let metrics: MetricsLog
    var activations: (B: Int, T: Int, forward: LlamaActivations, buffers: LlamaBackwardBuffers)?
    /// Seconds to sleep after each step (lets tests interrupt a run at a known point).
    public var stepDelay: Double = 0
    /// Called after each step (progress display).
    public var onStep: ((StepMetrics) -> Void)?

    /// Loads the model and data, and with `resume` the newest checkpoint in the run directory.
    public init(config: SFTConfig, resume: Bool = false) throws {
        try config.validate()
        self.config = config
        Compute.useThreads(config.threads)
        model = try LlamaModel(directory: config.model)
        let tokenizerPath = config.model + "/tokenizer.json"
        let tokenizer = FileManager.default.fileExists(atPath: tokenizerPath)
            ? try Tokenizer.load(directory: URL(fileURLWithPath: config.model)) : nil
        let all = try SFTData.load(path: config.data, tokenizer: tokenizer, maxLength: config.maxLength)
        if let evalPath = config.evalData {
            train = all
            eval = try SFTData.load(path: evalPath, tokenizer: tokenizer, maxLength: config.maxLength)
        } else {
            let parts = SFTData.split(all, fraction: config.evalFraction, seed: config.seed)
            train = parts.train
            eval = parts.eval
        }
        padId = tokenizer?.padTokenId ?? model.config.padTokenId ?? model.config.eosTokenIds.first ?? 0
        if let lora = config.lora {
            let adapter = LoRAAdapter(config: lora, modelConfig: model.config)
            adapter.initialize(seed: config.seed)
            model.adapter = adapter
            adapterGradients = LoRAAdapter(config: lora, modelConfig: model.config)
            gradients = nil
        } else {
            gradients = LlamaWeights(config: model.config)
            adapterGradients = nil
        }
        let layout = model.adapter?.arena.layout ?? model.weights.arena.layout
        optimizer = AdamW(
            config: AdamWConfig(beta1: Float(config.beta1), beta2: Float(config.beta2), epsilon: Float(config.epsilon),
                                weightDecay: Float(config.weightDecay)),
            layout: layout, decay: { _, shape in shape.count >= 2 })
        schedule = LearningRateSchedule(kind: config.schedule, peak: config.learningRate, warmupSteps: config.warmupSteps,
                                        totalSteps: config.steps)
        state.rng = SplitMix64(seed: config.seed ^ 0xD5_0F)
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        if resume, let last = Checkpoint.steps(in: config.output).last {
            state = try Checkpoint.load(directory: Checkpoint.directory(run: config.output, step: last), model: model,
                                        valueHead: nil, optimizer: optimizer)
        }
        metrics = try MetricsLog(path: config.output + "/metrics.jsonl", keepThrough: state.step)
        try config.yaml().write(toFile: config.output + "/config.yaml", atomically: true, encoding: .utf8)
    }

    var trainable: TensorArena { model.adapter?.arena ?? model.weights.arena }
    var gradientArena: TensorArena { adapterGradients?.arena ?? gradients!.arena }

    /// Trains until step `until` (default `config.steps`), logging and checkpointing; returns the steps run here.
    @discardableResult
    public func run(until last: Int? = nil) throws -> [StepMetrics] {
        var done: [StepMetrics] = []
        while state.step < min(last ?? config.steps, config.steps) {
            var m = try step()
            let number = state.step
            if !eval.isEmpty, number == config.steps || (config.evalEvery > 0 && number % config.evalEvery == 0) {
                m.evalLoss = try evaluate()
            }
            try metrics.append(m)
            if number == config.steps || (config.saveEvery > 0 && number % config.saveEvery == 0) {
                try Checkpoint.save(runDirectory: config.output, state: state, model: model, modelDirectory: config.model,
                                    valueHead: nil, optimizer: optimizer, keep: config.keepCheckpoints)
            }
            onStep?(m)
            done.append(m)
            if stepDelay > 0 { Thread.sleep(forTimeInterval: stepDelay) }
        }
        return done
    }

    /// One optimizer step over `gradientAccumulation` micro-batches; throws `nonFinite` before updating.
    public func step() throws -> StepMetrics {
        let started = Date()
        let number = state.step + 1
        var cursor = state.cursor
        let micro = (0..<config.gradientAccumulation).map { _ in
            cursor.next(config.batchSize, of: train.count, seed: config.seed).map { train[$0] }
        }
        let total = micro.joined().reduce(0) { $0 + $1.targetCount }
        gradientArena.zero()
        var lossSum = 0.0
        var rng = state.rng
        for examples in micro {
            let (batch, targets) = makeBatch(examples, padId: padId)
            let (a, buffers) = trainingBuffers(B: batch.batchSize, T: batch.length)
            model.adapter?.dropoutSeed = rng.next()
            defer { model.adapter?.dropoutSeed = nil }
            try model.forward(batch, activations: a)
            let (sum, _) = model.crossEntropyLossAndGradient(targets: targets, gradientScale: 1 / Float(max(1, total)), activations: a)
            guard sum.isFinite else { throw TrainingError.nonFinite(step: number, quantity: "loss", value: sum) }
            lossSum += sum
            model.backward(batch, activations: a, gradients: gradients, adapterGradients: adapterGradients, buffers: buffers)
        }
        let norm = globalGradientNorm([gradientArena])
        guard norm.isFinite else { throw TrainingError.nonFinite(step: number, quantity: "gradient norm", value: norm) }
        let rate = schedule.rate(step: state.step)
        // Clipping by global norm is folded into the update as a gradient scale.
        optimizer.update(parameters: trainable, gradients: gradientArena, learningRate: Float(rate),
                         gradientScale: config.maxGradNorm > 0 ? clipFactor(norm: norm, maxNorm: config.maxGradNorm) : 1)
        state.step = number
        state.cursor = cursor
        state.rng = rng
        return StepMetrics(step: number, loss: lossSum / Double(max(1, total)), learningRate: rate, gradientNorm: norm,
                           tokens: micro.joined().reduce(0) { $0 + $1.tokens.count }, seconds: Date().timeIntervalSince(started))
    }

    /// Mean token cross-entropy over the held-out examples (adapter dropout off).
    public func evaluate() throws -> Double {
        var sum = 0.0, count = 0
        for start in stride(from: 0, to: eval.count, by: config.batchSize) {
            let (batch, targets) = makeBatch(Array(eval[start..<min(eval.count, start + config.batchSize)]), padId: padId)
            let a = LlamaActivations(config: model.config, batchSize: batch.batchSize, length: batch.length)
            try model.forward(batch, activations: a)
            let (s, n) = model.crossEntropyLossAndGradient(targets: targets, gradientScale: 0, activations: a)
            sum += s
            count += n
        }
        return sum / Double(max(1, count))
    }

    /// Activations with every layer stored and backward buffers, reused while the batch shape repeats.
    func trainingBuffers(B: Int, T: Int) -> (LlamaActivations, LlamaBackwardBuffers) {
        if let cached = activations, cached.B == B, cached.T == T { return (cached.forward, cached.buffers) }
        activations = nil
        let a = LlamaActivations(config: model.config, batchSize: B, length: T, storedLayers: model.config.layerCount)
        let d = LlamaBackwardBuffers(config: model.config, batchSize: B, length: T)
        activations = (B, T, a, d)
        return (a, d)
    }
}
