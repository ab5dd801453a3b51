import Foundation

/// `text2grad demo`'s settings and the sizes of each stage they imply.
public struct DemoOptions: Codable, Sendable, Equatable {
    /// The run directory; each stage writes its own folder in it.
    public var output = "runs/demo"
    /// PPO seeds per reward mode.
    public var seeds = 3
    /// One seed and fewer steps, every stage still run (what the tests run).
    public var quick = false
    /// An OpenAI-compatible teacher instead of the built-in one (annotation only).
    public var teacherURL: String?
    /// The model name sent to `teacherURL`.
    public var teacherModel = "gpt-4o-mini"
    /// Engine threads.
    public var threads = 2

    public init() {}

    /// Posts in the task's train and eval splits.
    var trainPosts: Int { quick ? 400 : 1600 }
    var evalPosts: Int { quick ? 24 : 64 }
    /// The tokenizer's vocabulary.
    var vocabularySize: Int { quick ? 640 : 1024 }
    /// The models' shape (see `LlamaConfig.namedShapes`).
    var shape: String { quick ? "tiny" : "demo-tiny" }
    /// Full-parameter steps on reference summaries (the brief pretraining), then on imperfect ones (the policy).
    var pretrainSteps: Int { quick ? 120 : 500 }
    var policySteps: Int { quick ? 40 : 150 }
    var batchSize: Int { 16 }
    /// The policy's samples the teacher annotates, and the reward model's training steps.
    var annotatedSamples: Int { quick ? 160 : 800 }
    var rewardModelSteps: Int { quick ? 120 : 600 }
    /// PPO steps per run, rollouts per step.
    var ppoSteps: Int { quick ? 4 : 30 }
    var ppoBatch: Int { quick ? 8 : 16 }
    var ppoEvalEvery: Int { quick ? 2 : 5 }
    var seedCount: Int { quick ? 1 : max(1, seeds) }

    /// What decides whether a finished stage can be reused: everything but the output directory.
    var fingerprint: String {
        "quick=\(quick) seeds=\(seedCount) teacher=\(teacherURL ?? "builtin") \(teacherModel)"
    }
}
