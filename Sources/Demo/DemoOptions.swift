import Common
import Foundation

/// `text2grad demo`'s settings; the sizes of every stage follow from `size`. Saved as `config.yaml` in the run
/// directory, without a key.
public struct DemoOptions: RunConfiguration, Equatable {
    /// The run directory; each stage writes its own folder in it.
    public var output = "runs/demo"
    /// PPO seeds per reward mode (`full` only; the smaller sizes run one).
    public var seeds = 3
    /// How big every stage is.
    public var size = DemoSize.full
    /// A pretrained base model directory instead of the one shipped with the tool (`DemoBase.shipped`).
    public var base: String?
    /// An OpenAI-compatible teacher instead of the built-in one (annotation only).
    public var teacherURL: String?
    /// The model name sent to `teacherURL`.
    public var teacherModel = "gpt-4o-mini"
    /// The verdict's target of held-out fact accuracy (default: the base's minus `target_margin`).
    public var target: Double?
    /// The default target's margin below the base's held-out fact accuracy.
    public var targetMargin = 0.02
    /// Engine threads.
    public var threads = Machine.defaultThreadCount

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case output, seeds, size, base, teacherURL = "teacher_url", teacherModel = "teacher_model", target
        case targetMargin = "target_margin", threads
    }

    public init() {}

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "demo", detail: reason) }
        if output.isEmpty { throw fail("'output' is required") }
        if !(1...16).contains(seeds) { throw fail("'seeds' must be 1...16") }
        if let target, !(target > 0 && target <= 1) { throw fail("'target' must be in (0, 1]") }
        if !(0..<1).contains(targetMargin) { throw fail("'target_margin' must be in [0, 1)") }
        if threads < 1 { throw fail("'threads' must be positive") }
    }

    /// The stage sizes `size` stands for.
    public var sizes: DemoSizes { DemoSizes(size) }
    var seedCount: Int { size == .full ? max(1, seeds) : 1 }

    /// What decides whether a finished stage can be reused: everything but the output directory and threads, with
    /// the base's own fingerprint.
    func fingerprint(base: String) -> String {
        "size=\(size.rawValue) \(sizes) seeds=\(seedCount) base=\(base) teacher=\(teacherURL ?? "builtin") \(teacherModel)"
    }
}

/// The demo's sizes: `full` (the default, about ten minutes), `quick` (every stage, one seed, a few minutes in a
/// release build) and `smoke` (every stage at the smallest sizes that still run it: what the test suite's debug build
/// runs).
public enum DemoSize: String, Codable, Sendable, CaseIterable {
    case full, quick, smoke
}

/// The sizes of every stage of one demo run.
public struct DemoSizes: Sendable, Equatable {
    /// Posts in the task's train and eval splits.
    public var trainPosts: Int, evalPosts: Int
    /// Full-parameter steps on imperfect summaries (the policy), and their batch.
    public var policySteps: Int, batchSize: Int
    /// The policy's samples the teacher annotates, and the reward model's training steps.
    public var annotatedSamples: Int, rewardModelSteps: Int
    /// The longest critique the reward model writes, in tokens.
    public var critiqueTokens: Int
    /// PPO steps per run, rollouts per step, steps between held-out evaluations, held-out posts evaluated.
    public var ppoSteps: Int, ppoBatch: Int, ppoEvalEvery: Int, ppoEvalPosts: Int

    public init(_ size: DemoSize) {
        switch size {
        case .full:
            (trainPosts, evalPosts) = (1600, 64)
            (policySteps, batchSize) = (60, 16)
            (annotatedSamples, rewardModelSteps, critiqueTokens) = (1600, 60, 256)
            (ppoSteps, ppoBatch, ppoEvalEvery, ppoEvalPosts) = (20, 16, 2, 64)
        case .quick:
            (trainPosts, evalPosts) = (400, 32)
            (policySteps, batchSize) = (60, 16)
            (annotatedSamples, rewardModelSteps, critiqueTokens) = (400, 30, 256)
            (ppoSteps, ppoBatch, ppoEvalEvery, ppoEvalPosts) = (10, 16, 2, 32)
        case .smoke:
            (trainPosts, evalPosts) = (80, 8)
            (policySteps, batchSize) = (2, 4)
            (annotatedSamples, rewardModelSteps, critiqueTokens) = (40, 2, 48)
            (ppoSteps, ppoBatch, ppoEvalEvery, ppoEvalPosts) = (2, 4, 1, 4)
        }
    }
}
