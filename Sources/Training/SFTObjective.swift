import Foundation
import Models
import Tensor
import Tokenizers

/// Supervised fine-tuning's objective: masked mean token cross-entropy over the target tokens of
/// `gradientAccumulation` micro-batches of `batchSize` examples, one update per step.
///
/// A step is: draw micro-batches from the cursor → forward/backward each (dropout seeded from the state's RNG)
/// → check the loss → update (clip, AdamW).
public final class SFTObjective: TrainingObjective {
    /// Where the data order and dropout stand.
    public struct State: Codable, Sendable, Equatable {
        /// The position in the seeded data order.
        public var cursor = DataCursor()
        /// The generator of per-micro-batch dropout seeds.
        public var rng = SplitMix64(seed: 0)
    }

    public var state: State
    public let trainable: TrainableModel
    public let train: [SFTExample]
    public let eval: [SFTExample]
    public let batchSize: Int
    public let gradientAccumulation: Int
    public let padId: Int
    let seed: UInt64
    var buffers: TrainingBuffers?

    /// An objective over `train` (and `eval` for held-out loss).
    public init(trainable: TrainableModel, train: [SFTExample], eval: [SFTExample], batchSize: Int,
                gradientAccumulation: Int, padId: Int, seed: UInt64) {
        precondition(!train.isEmpty && batchSize > 0 && gradientAccumulation > 0, "empty SFT objective")
        self.trainable = trainable
        self.train = train
        self.eval = eval
        self.batchSize = batchSize
        self.gradientAccumulation = gradientAccumulation
        self.padId = padId
        self.seed = seed
        state = State(rng: SplitMix64(seed: seed ^ 0xD5_0F))
    }

    /// With several replicas every one draws the same global micro-batches and trains on its share of each
    /// (examples dealt out by rank); the loss is normalised by the global target count, so the summed gradients
    /// are the one-process gradients.
    public func step(_ context: StepContext) throws -> [String: Double] {
        let model = trainable.model, reducer = context.reducer
        var cursor = state.cursor
        let micro = (0..<gradientAccumulation).map { _ in
            cursor.next(batchSize, of: train.count, seed: seed).map { train[$0] }
        }
        let total = micro.joined().reduce(0) { $0 + $1.targetCount }
        context.zeroGradients()
        var lossSum = 0.0
        var rng = state.rng
        for examples in micro.map(reducer.shard) {
            // Every replica draws each micro-batch's seed; its own stream is that seed mixed with its rank.
            let dropoutSeed = rng.next() &+ UInt64(reducer.rank) &* 0x9E37_79B9_7F4A_7C15
            guard !examples.isEmpty else { continue }
            let (batch, targets) = makeBatch(examples, padId: padId)
            let b = trainingBuffers(B: batch.batchSize, T: batch.length)
            model.adapter?.dropoutSeed = dropoutSeed
            defer { model.adapter?.dropoutSeed = nil }
            try model.forward(batch, activations: b.forward, logitRows: LlamaModel.logitRows(forTargets: targets))
            let (sum, _) = model.crossEntropyLossAndGradient(
                targets: targets, gradientScale: 1 / Float(max(1, total)), activations: b.forward)
            lossSum += sum
            model.backward(batch, activations: b.forward, gradients: trainable.weightGradients,
                           adapterGradients: trainable.adapterGradients, buffers: b.backward)
        }
        var sums = [lossSum]
        reducer.sum(&sums)
        try context.check("loss", sums[0])
        let norm = try context.update()
        state.cursor = cursor
        state.rng = rng
        let tokens = micro.joined().reduce(0) { $0 + $1.tokens.count }
        return ["loss": sums[0] / Double(max(1, total)), "grad_norm": norm, "tokens": Double(tokens)]
    }

    /// Mean token cross-entropy over the held-out examples (adapter dropout off): `eval_loss`.
    public func evaluate(_ reducer: GradientReducer, step: Int) throws -> [String: Double] {
        guard !eval.isEmpty else { return [:] }
        return ["eval_loss": try heldOutLoss(reducer)]
    }

    /// Mean token cross-entropy over the held-out examples; each replica takes every `worldSize`-th batch.
    public func heldOutLoss(_ reducer: GradientReducer = LocalReducer()) throws -> Double {
        let model = trainable.model
        var totals = [0.0, 0.0]
        var cache: LlamaActivations?
        for (k, start) in stride(from: 0, to: eval.count, by: batchSize).enumerated() where reducer.owns(k) {
            let (batch, targets) = makeBatch(Array(eval[start..<min(eval.count, start + batchSize)]), padId: padId)
            let a = LlamaActivations.fitting(&cache, config: model.config, batchSize: batch.batchSize,
                                             length: batch.length)
            try model.forward(batch, activations: a, logitRows: LlamaModel.logitRows(forTargets: targets))
            let (s, n) = model.crossEntropyLossAndGradient(targets: targets, gradientScale: 0, activations: a)
            totals[0] += s
            totals[1] += Double(n)
        }
        reducer.sum(&totals)
        return totals[0] / max(1, totals[1])
    }

    public func progressDetail(_ m: [String: Double]) -> String {
        var text = String(format: "loss %.4f  lr %.2e  grad-norm %.3f", m["loss"] ?? .nan, m["lr"] ?? .nan, m["grad_norm"] ?? .nan)
        if let tokens = m["tokens"], let seconds = m["seconds"] { text += String(format: "  %.0f tok/s", tokens / max(seconds, 1e-9)) }
        if let evalLoss = m["eval_loss"] { text += String(format: "  eval-loss %.4f", evalLoss) }
        return text
    }

    func trainingBuffers(B: Int, T: Int) -> TrainingBuffers {
        TrainingBuffers.fitting(&buffers, config: trainable.model.config, batchSize: B, length: T)
    }
}

/// Activations with every layer stored plus backward buffers for batches of up to (B, T).
public final class TrainingBuffers {
    public let forward: LlamaActivations
    public let backward: LlamaBackwardBuffers

    /// Buffers for batches of up to `batchSize` sequences of `length` tokens.
    public init(config: LlamaConfig, batchSize B: Int, length T: Int) {
        forward = LlamaActivations(config: config, batchSize: B, length: T, storedLayers: config.layerCount)
        backward = LlamaBackwardBuffers(config: config, batchSize: B, length: T)
    }

    /// Buffers shaped for (B, T): the cached ones when they hold them, else new ones large enough for both, which
    /// replace them in `cache` (the old are released first): a loop over batches of varying lengths allocates
    /// until it has seen its longest, then reuses (see `LlamaActivations`).
    public static func fitting(
        _ cache: inout TrainingBuffers?, config: LlamaConfig, batchSize B: Int, length T: Int
    ) -> TrainingBuffers {
        if let cached = cache, cached.forward.fits(batchSize: B, length: T) {
            cached.forward.reshape(batchSize: B, length: T)
            return cached
        }
        let held = cache?.forward.capacity ?? (batchSize: 0, length: 0)
        cache = nil
        let fresh = TrainingBuffers(config: config, batchSize: max(B, held.batchSize), length: max(T, held.length))
        fresh.forward.reshape(batchSize: B, length: T)
        cache = fresh
        return fresh
    }
}
