import Common
import Foundation
import RewardModel
import Spans
import Training

/// Where rewards come from and how they are placed.
public enum RewardMode: String, Codable, Sendable, CaseIterable {
    /// Text2Grad: each response token gets the score of the critiqued span it lies in.
    case token
    /// The baseline: the last token gets one sequence score from the same critique (`scalar_score`).
    case scalar
}

/// Everything `text2grad train-policy` needs: the model, decoding, LoRA, optimizer, loop, sampling and critic
/// groups and PPO's own settings; defaults, then YAML (snake_case keys, one flat mapping), then flags; saved
/// resolved as `config.yaml` beside the run. Names and defaults follow TRL's PPO where it has them.
public struct PPOConfig: RunConfiguration, Equatable {
    /// The policy's base model and the engine's threads.
    public var model = ModelSettings()
    /// The precision rollouts (and a local reward model's critiques) are decoded with; log-probabilities for the
    /// update are always computed in fp32.
    public var decoding = DecodingSettings()
    /// LoRA on the policy (`lora_rank: 0`: every weight trains, against a frozen copy as the reference).
    public var lora = LoRASettings()
    /// AdamW over the policy and the value head; clipping over both.
    public var optimizer = OptimizerSettings()
    /// PPO steps (each samples `batch_size` rollouts), the schedule, checkpoints, seed and the run directory.
    public var loop = TrainingLoopSettings()
    /// How rollouts are sampled; log-probabilities are taken at the same temperature. `min_new_tokens` matters
    /// here (the authors' SLF5K runs used 45): without it, span rewards let a policy escape blame by stopping
    /// early, since what a response leaves out has no span to blame.
    public var sampling = SamplingSettings()
    /// Who critiques the rollouts. The trainer is handed its critic; this names it in config.yaml, so a report can
    /// tell the critics' runs apart and a resume cannot switch critics.
    public var critic = CriticSettings()
    /// Prompts JSONL: {"id", "prompt"} or {"id", "messages"}; other fields (a reference, facts) go to the task metric.
    public var prompts: String = ""
    /// Held-out prompts for periodic evaluation (default: none).
    public var evalPrompts: String?
    /// Held-out prompts evaluated at most (from the start of the file).
    public var evalLimit: Int = 64
    /// Held-out evaluation decodes greedily instead of as the rollouts do (same seeds in every evaluation).
    public var evalGreedy: Bool = false
    /// Held-out evaluation asks the critic about every response (`eval/score`); off, only the one logged to
    /// samples.jsonl is critiqued (the task metric needs no critic), which saves a reward model's decoding.
    public var evalCritique: Bool = true
    /// token (Text2Grad) or scalar (the baseline).
    public var rewardMode: RewardMode = .token
    /// Scalar mode's sequence score: the sum of the token scores (token mode's return, the default) or their mean
    /// over the quoted tokens.
    public var scalarScore: SequenceScoreRule = .sum
    /// Rollouts per optimizer update.
    public var miniBatchSize: Int = 4
    /// Passes over each step's rollouts.
    public var ppoEpochs: Int = 4
    /// The value head's learning rate, as a multiple of `learning_rate`.
    public var valueLearningRateScale: Double = 1.0
    /// k1, k3 or full (over the vocabulary).
    public var klEstimator: KLEstimator = .k1
    /// The KL coefficient β (the start value when adaptive).
    public var klCoef: Double = 0.05
    /// A KL to steer β toward (TRL's adaptive controller); unset keeps β fixed.
    public var klTarget: Double?
    /// The adaptive controller's horizon, in samples.
    public var klHorizon: Double = 10_000
    /// GAE's discount γ and λ.
    public var gamma: Double = 1.0
    public var lam: Double = 0.95
    /// The policy ratio's clip ε, and the value's.
    public var cliprange: Double = 0.2
    public var cliprangeValue: Double = 0.2
    /// The value loss's weight.
    public var vfCoef: Double = 0.1
    /// An entropy bonus's weight (0: none).
    public var entropyCoef: Double = 0.0
    /// Skip a mini-batch whose mean ratio exceeds this.
    public var ratioThreshold: Double = 10
    /// |log ratio| is clamped to this before the exponential.
    public var logRatioClamp: Double = 20
    /// Whiten advantages over each step's tokens.
    public var whitenAdvantages: Bool = true
    /// The score of a token outside every span.
    public var neutralScore: Double = 0
    /// Whether tokens without a letter or digit take their span's score.
    public var scoreNonAlphanumeric: Bool = false
    /// The sequence score given to a response whose critique did not parse (it is also counted).
    public var unparsedScore: Double = 0
    /// Subtracted from the score of a response that ends without an end-of-sequence token (unset: none).
    public var missingEOSPenalty: Double?
    /// Rollouts per step written to samples.jsonl.
    public var samplesPerStep: Int = 2

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case model, decoding, lora, optimizer, loop, sampling, critic
        case prompts, evalPrompts = "eval_prompts", evalLimit = "eval_limit", evalGreedy = "eval_greedy"
        case evalCritique = "eval_critique", rewardMode = "reward_mode", scalarScore = "scalar_score"
        case miniBatchSize = "mini_batch_size", ppoEpochs = "ppo_epochs"
        case valueLearningRateScale = "value_learning_rate_scale"
        case klEstimator = "kl_estimator", klCoef = "kl_coef", klTarget = "kl_target", klHorizon = "kl_horizon"
        case gamma, lam, cliprange, cliprangeValue = "cliprange_value", vfCoef = "vf_coef", entropyCoef = "entropy_coef"
        case ratioThreshold = "ratio_threshold", logRatioClamp = "log_ratio_clamp", whitenAdvantages = "whiten_advantages"
        case neutralScore = "neutral_score", scoreNonAlphanumeric = "score_non_alphanumeric"
        case unparsedScore = "unparsed_score", missingEOSPenalty = "missing_eos_penalty"
        case samplesPerStep = "samples_per_step"
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.model, ModelSettings.self), (.decoding, DecodingSettings.self), (.lora, LoRASettings.self),
         (.optimizer, OptimizerSettings.self), (.loop, TrainingLoopSettings.self), (.sampling, SamplingSettings.self),
         (.critic, CriticSettings.self)]
    }

    /// Keys earlier versions wrote.
    public static var renamedKeys: [String: String] { ["rollout_weights": "weights"] }

    /// PPO's defaults where they differ from the groups': TRL's learning rate, a constant schedule, 8 rollouts of
    /// at most 48 tokens sampled at 0.7, and the summarization task's labels.
    public init() {
        loop.output = "runs/ppo"
        loop.batchSize = 8
        loop.schedule = .constant
        optimizer.learningRate = 1e-4
        sampling.temperature = 0.7
        sampling.maxNewTokens = 48
        critic.task = "summarization"
    }

    public func validate() throws {
        func fail(_ reason: String) -> Error { TrainingError.badConfig(path: "config", reason: reason) }
        try model.validate(fail)
        if prompts.isEmpty { throw fail("'prompts' is required") }
        for (key, value) in [("mini_batch_size", miniBatchSize), ("ppo_epochs", ppoEpochs), ("eval_limit", evalLimit)]
        where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        try critic.validate(fail)
        if (try? RewardModelFormat.builtin(task)) == nil {
            throw fail("'task' must be summarization, qa or code, got '\(task)'")
        }
        try sampling.validate(fail)
        if !(sampling.temperature > 0) { throw fail("'temperature' must be positive (rollouts sample)") }
        if miniBatchSize > loop.batchSize {
            throw fail("'mini_batch_size' (\(miniBatchSize)) exceeds 'batch_size' (\(loop.batchSize))")
        }
        try optimizer.validate(fail)
        try loop.validate(fail)
        try lora.validate(fail)
        for (key, value) in [("kl_coef", klCoef), ("gamma", gamma), ("lam", lam), ("cliprange", cliprange),
                             ("cliprange_value", cliprangeValue), ("vf_coef", vfCoef), ("entropy_coef", entropyCoef),
                             ("value_learning_rate_scale", valueLearningRateScale), ("kl_horizon", klHorizon)]
        where !(value.isFinite && value >= 0) {
            throw fail("'\(key)' must be a finite number ≥ 0, got \(value)")
        }
        if gamma > 1 || lam > 1 { throw fail("'gamma' and 'lam' must be ≤ 1") }
        if let klTarget, !(klTarget > 0) { throw fail("'kl_target' must be positive") }
        if !(ratioThreshold > 1) || !(logRatioClamp > 0) { throw fail("need ratio_threshold > 1 and log_ratio_clamp > 0") }
        if samplesPerStep < 0 { throw fail("'samples_per_step' must be ≥ 0") }
        for value in [neutralScore, unparsedScore, missingEOSPenalty ?? 0] where !value.isFinite {
            throw fail("scores must be finite")
        }
    }

    /// The critiques' task: summarization, qa or code.
    public var task: String { critic.task ?? "summarization" }

    /// The loop's settings; held-out curves start at the policy PPO starts from.
    public var loopSettings: LoopSettings {
        var settings = loop.settings(optimizer)
        settings.evaluatesAtStart = loop.evalEvery > 0
        return settings
    }
}
