import Common
import Foundation
import Tensor

/// An objective the training loop drives: SFT's masked cross-entropy, the reward model's, PPO's.
///
/// A step computes gradients into the trainable groups and applies them through `StepContext.update()`, once
/// (SFT) or several times (PPO's epochs over mini-batches); everything an exact resume needs that is not a
/// tensor (data cursors, RNG streams, the KL coefficient) lives in `state`, which checkpoints save.
public protocol TrainingObjective: AnyObject {
    /// The objective's resumable state.
    associatedtype State: Codable
    /// Saved with every checkpoint, restored on resume.
    var state: State { get set }
    /// One loop step; returns its figures under namespaced keys (`loss`, `objective/kl`, ...).
    func step(_ context: StepContext) throws -> [String: Double]
    /// Held-out figures (`eval_loss`, `eval/reward`, ...), asked for at evaluation steps (`step` is the number of
    /// steps done, 0 before the first); each replica takes its share of the held-out data and `reducer` sums the
    /// totals.
    func evaluate(_ reducer: GradientReducer, step: Int) throws -> [String: Double]
    /// A short summary of a step's figures for the progress line (`loss 1.234`).
    func progressDetail(_ metrics: [String: Double]) -> String
}

/// Sums gradients and counts across data-parallel replicas before the update; the identity in one process.
public protocol GradientReducer: AnyObject {
    /// This process's rank (0 writes the run's files).
    var rank: Int { get }
    /// The number of replicas.
    var worldSize: Int { get }
    /// Replaces `count` floats at `buffer` by their sum over all replicas.
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// Replaces each value by its sum over all replicas.
    func sum(_ values: inout [Double])
    /// Whether every replica passed the same `value` (a configuration's hash, a resumed step).
    func agree(_ value: UInt64) -> Bool
    /// Seconds spent in the sums so far.
    var communicationSeconds: Double { get }
}

extension GradientReducer {
    /// Whether this replica owns row `index` of a global batch: rows are dealt out in turn, `rank`,
    /// `rank + worldSize`, ...
    public func owns(_ index: Int) -> Bool { index % worldSize == rank }

    /// This replica's share of a global batch.
    public func shard<T>(_ items: [T]) -> [T] {
        worldSize == 1 ? items : stride(from: rank, to: items.count, by: worldSize).map { items[$0] }
    }
}

/// One process: nothing to reduce.
public final class LocalReducer: GradientReducer {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func sum(_ values: inout [Double]) {}
    public func agree(_ value: UInt64) -> Bool { true }
    public var communicationSeconds: Double { 0 }
}

/// The loop's settings that every objective shares.
public struct LoopSettings: Sendable, Equatable {
    /// The run directory: metrics.jsonl, checkpoints/step-N/.
    public var output: String
    public var steps: Int
    public var schedule: LearningRateSchedule
    /// Global-norm gradient clipping across every group; 0 turns it off.
    public var maxGradNorm: Double
    /// Steps between evaluations (0: only at the end) and between checkpoints (0: only at the end).
    public var evalEvery: Int
    public var saveEvery: Int
    /// Checkpoints kept (older ones are deleted).
    public var keepCheckpoints: Int
    /// Also evaluate before the first step (logged as step 0), so curves start where training starts.
    public var evaluatesAtStart = false

    /// Settings for a run of `steps` steps into `output`.
    public init(output: String, steps: Int, schedule: LearningRateSchedule, maxGradNorm: Double, evalEvery: Int,
                saveEvery: Int, keepCheckpoints: Int) {
        self.output = output
        self.steps = steps
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.evalEvery = evalEvery
        self.saveEvery = saveEvery
        self.keepCheckpoints = keepCheckpoints
    }
}

/// What an objective's step may do with the trained model: zero the gradients, check a quantity, update.
public final class StepContext {
    /// The step being run (1-based).
    public let step: Int
    /// The schedule's learning rate for this step (each group scales it).
    public let learningRate: Double
    /// Sums across data-parallel replicas.
    public let reducer: GradientReducer
    let trainable: TrainableModel
    let maxGradNorm: Double
    /// The global gradient norm of the last update (before clipping).
    public private(set) var lastGradientNorm: Double = 0
    /// Updates applied in this step.
    public private(set) var updates = 0

    /// A context of its own (the loop makes one per step): for running a step outside the loop, as `bench train` does.
    public init(
        step: Int, learningRate: Double, reducer: GradientReducer, trainable: TrainableModel, maxGradNorm: Double
    ) {
        self.step = step
        self.learningRate = learningRate
        self.reducer = reducer
        self.trainable = trainable
        self.maxGradNorm = maxGradNorm
    }

    /// Zeroes every group's gradients (before accumulating a step's or a mini-batch's).
    public func zeroGradients() { trainable.zeroGradients() }

    /// Throws `nonFinite` naming this step and `quantity` when `value` is NaN or infinite.
    public func check(_ quantity: String, _ value: Double) throws {
        guard value.isFinite else { throw TrainingError.nonFinite(step: step, quantity: quantity, value: value) }
    }

    /// Applies the accumulated gradients: sums them across replicas (one contiguous buffer per group), takes the
    /// global norm over every group, stops on a non-finite norm before touching any weight, clips by the norm
    /// and runs AdamW on each group at its scaled rate. Returns the norm before clipping.
    @discardableResult
    public func update() throws -> Double {
        let groups = trainable.groups
        if reducer.worldSize > 1 {
            for group in groups { reducer.sum(group.gradients.data, count: group.gradients.count) }
        }
        let norm = globalGradientNorm(groups.map(\.gradients))
        try check("gradient norm", norm)
        // Clipping by global norm is folded into the update as a gradient scale.
        let scale: Float = maxGradNorm > 0 ? clipFactor(norm: norm, maxNorm: maxGradNorm) : 1
        for group in groups {
            group.optimizer.update(parameters: group.parameters, gradients: group.gradients,
                                   learningRate: Float(learningRate * group.learningRateScale), gradientScale: scale)
        }
        lastGradientNorm = norm
        updates += 1
        return norm
    }
}

/// The training loop, for any objective: owns the step counter, the schedule, evaluation, metrics.jsonl, the
/// progress line, checkpoints of every group plus the objective's state, keep-last-N and exact resume. Only
/// rank 0 writes files.
public final class TrainingLoop<Objective: TrainingObjective> {
    public let settings: LoopSettings
    public let trainable: TrainableModel
    public let objective: Objective
    public let reducer: GradientReducer
    /// Steps completed (restored on resume).
    public private(set) var step = 0
    let metrics: MetricsLog?
    /// Shows each step; nil shows nothing.
    public var progress: ProgressReporter?
    /// Seconds to sleep after each step (lets tests interrupt a run at a known point).
    public var stepDelay: Double = 0
    /// Called after each step with its record (tests, summaries).
    public var onStep: ((Int, [String: Double]) -> Void)?

    /// Prepares the run directory; with `resume`, restores the newest readable checkpoint (`warn` hears about
    /// any skipped). With several replicas, `fingerprint` (the resolved configuration and data) and the resumed
    /// step must agree on every one, else the run stops before its first step rather than hang in a sum later.
    public init(
        settings: LoopSettings, trainable: TrainableModel, objective: Objective, reducer: GradientReducer = LocalReducer(),
        fingerprint: UInt64 = 0, resume: Bool, warn: (String) -> Void = { _ in }
    ) throws {
        guard reducer.agree(fingerprint) else {
            throw TrainingError.replicasDisagree(what: "configuration or data",
                                                 reason: "every rank must run the same command on the same files")
        }
        self.settings = settings
        self.trainable = trainable
        self.objective = objective
        self.reducer = reducer
        if reducer.rank == 0 {
            do {
                try FileManager.default.createDirectory(atPath: settings.output, withIntermediateDirectories: true)
            } catch {
                throw TrainingError.cannotWrite(path: settings.output, reason: writeFailure(error))
            }
        }
        if resume, let saved = try Checkpoint.loadNewest(
            runDirectory: settings.output, trainable: trainable, as: Objective.State.self, warn: warn)
        {
            step = saved.step
            objective.state = saved.objective
        }
        guard reducer.agree(UInt64(step)) else {
            throw TrainingError.replicasDisagree(
                what: "resumed step (rank \(reducer.rank) at step \(step))",
                reason: "every rank must read the same checkpoints: put the run directory on a shared file system")
        }
        metrics = reducer.rank == 0
            ? try MetricsLog(path: settings.output + "/metrics.jsonl", keepThrough: step) : nil
    }

    /// Trains until step `last` (default: the configured steps); returns each step's record.
    @discardableResult
    public func run(until last: Int? = nil) throws -> [(step: Int, metrics: [String: Double])] {
        var done: [(Int, [String: Double])] = []
        let end = min(last ?? settings.steps, settings.steps)
        if step == 0, end > 0, settings.evaluatesAtStart {
            let record = try objective.evaluate(reducer, step: 0)
            try metrics?.append(step: 0, record)
        }
        while step < end {
            let number = step + 1
            let started = Date()
            let context = StepContext(step: number, learningRate: settings.schedule.rate(step: step), reducer: reducer,
                                      trainable: trainable, maxGradNorm: settings.maxGradNorm)
            let communication = reducer.communicationSeconds
            var record = try objective.step(context)
            record["lr"] = context.learningRate
            record["seconds"] = Date().timeIntervalSince(started)
            if reducer.worldSize > 1 { record["time/allreduce"] = reducer.communicationSeconds - communication }
            step = number
            let final = number == settings.steps
            if final || (settings.evalEvery > 0 && number % settings.evalEvery == 0) {
                for (key, value) in try objective.evaluate(reducer, step: number) { record[key] = value }
            }
            try metrics?.append(step: number, record)
            if reducer.rank == 0, final || (settings.saveEvery > 0 && number % settings.saveEvery == 0) {
                try Checkpoint.save(runDirectory: settings.output, step: number, trainable: trainable,
                                    state: objective.state, keep: settings.keepCheckpoints)
            }
            progress?.update(done: number, detail: objective.progressDetail(record))
            onStep?(number, record)
            done.append((number, record))
            if stepDelay > 0 { Thread.sleep(forTimeInterval: stepDelay) }
        }
        return done
    }
}
