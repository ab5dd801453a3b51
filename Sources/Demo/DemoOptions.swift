import Foundation

/// `text2grad demo`'s settings; the sizes of every stage follow from `size`.
public struct DemoOptions: Codable, Sendable, Equatable {
    /// The run directory; each stage writes its own folder in it.
    public var output = "runs/demo"
    /// PPO seeds per reward mode (`full` only; the smaller sizes run one).
    public var seeds = 3
    /// How big every stage is.
    public var size = DemoSize.full
    /// An OpenAI-compatible teacher instead of the built-in one (annotation only).
    public var teacherURL: String?
    /// The model name sent to `teacherURL`.
    public var teacherModel = "gpt-4o-mini"
    /// Engine threads.
    public var threads = 2

    public init() {}

    /// The stage sizes `size` stands for.
    public var sizes: DemoSizes { DemoSizes(size) }
    var seedCount: Int { size == .full ? max(1, seeds) : 1 }

    /// What decides whether a finished stage can be reused: everything but the output directory and threads.
    var fingerprint: String {
        "size=\(size.rawValue) \(sizes) seeds=\(seedCount) teacher=\(teacherURL ?? "builtin") \(teacherModel)"
    }
}

/// The demo's sizes: `full` (the default, about ten minutes), `quick` (every stage, about two minutes in a release
/// build) and `smoke` (every stage at the smallest sizes that still run it: what the test suite's debug build runs).
public enum DemoSize: String, Codable, Sendable, CaseIterable {
    case full, quick, smoke
}

/// The sizes of every stage of one demo run.
public struct DemoSizes: Sendable, Equatable {
    /// Posts in the task's train and eval splits.
    public var trainPosts: Int, evalPosts: Int
    /// The tokenizer's vocabulary and the models' shape (see `LlamaConfig.namedShapes`).
    public var vocabularySize: Int, shape: String
    /// Full-parameter steps on reference summaries (the brief pretraining), then on imperfect ones (the policy).
    public var pretrainSteps: Int, policySteps: Int, batchSize: Int
    /// The policy's samples the teacher annotates, and the reward model's training steps.
    public var annotatedSamples: Int, rewardModelSteps: Int
    /// The longest critique the reward model writes, in tokens.
    public var critiqueTokens: Int
    /// PPO steps per run, rollouts per step, steps between held-out evaluations, held-out posts evaluated.
    public var ppoSteps: Int, ppoBatch: Int, ppoEvalEvery: Int, ppoEvalPosts: Int

    public init(_ size: DemoSize) {
        switch size {
        case .full:
            (trainPosts, evalPosts, vocabularySize, shape) = (1600, 64, 1024, "demo-tiny")
            (pretrainSteps, policySteps, batchSize) = (200, 60, 16)
            (annotatedSamples, rewardModelSteps, critiqueTokens) = (1600, 120, 192)
            (ppoSteps, ppoBatch, ppoEvalEvery, ppoEvalPosts) = (10, 8, 2, 32)
        case .quick:
            (trainPosts, evalPosts, vocabularySize, shape) = (400, 24, 640, "tiny")
            (pretrainSteps, policySteps, batchSize) = (120, 40, 16)
            (annotatedSamples, rewardModelSteps, critiqueTokens) = (400, 120, 192)
            (ppoSteps, ppoBatch, ppoEvalEvery, ppoEvalPosts) = (4, 8, 2, 24)
        case .smoke:
            (trainPosts, evalPosts, vocabularySize, shape) = (80, 8, 400, "tiny")
            (pretrainSteps, policySteps, batchSize) = (4, 2, 4)
            (annotatedSamples, rewardModelSteps, critiqueTokens) = (40, 3, 24)
            (ppoSteps, ppoBatch, ppoEvalEvery, ppoEvalPosts) = (2, 4, 1, 4)
        }
    }
}
