import Common
import Foundation
import Models
import RewardModel
import Tensor
import Training

/// Where rewards come from and how they are placed.
public enum RewardMode: String, Codable, Sendable, CaseIterable {
    /// Text2Grad: each response token gets the score of the critiqued span it lies in.
    case token
    /// The baseline: the last token gets one sequence score from the same critique (`scalar_score`).
    case scalar
}

/// Who critiques the rollouts (`train-policy --reward`).
public enum RewardSource: String, Codable, Sendable, CaseIterable {
    /// A local generative reward model (`reward_model`, `reward_adapter`).
    case rm
    /// An OpenAI-compatible server of a reward model, asked with the reward model's own prompt (`reward_url`).
    case endpoint
    /// Any OpenAI-compatible LLM, asked with the annotation prompts (`reward_url`).
    case teacher
    /// The built-in task's rule-based teacher: a perfect critic of that task.
    case builtin
}

/// Everything `text2grad train-policy` needs: defaults, then YAML (snake_case keys), then flags; saved resolved
/// as `config.yaml` beside the run. Names and defaults follow TRL's PPO where it has them.
public struct PPOConfig: RunConfiguration, Equatable {
    /// The policy's base model directory.
    public var model: String = ""
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
    /// The run directory: config.yaml, metrics.jsonl, samples.jsonl, checkpoints/step-N/.
    public var output: String = "runs/ppo"
    /// token (Text2Grad) or scalar (the baseline).
    public var rewardMode: RewardMode = .token
    /// The reward source: rm (a local reward model), endpoint, teacher or builtin (`train-policy --reward`). The
    /// trainer is handed its critic; this names it in config.yaml, so a report can tell the critics' runs apart.
    public var reward: RewardSource = .rm
    /// The local reward model's directory (`reward: rm`), and its LoRA adapter if any.
    public var rewardModel: String?
    public var rewardAdapter: String?
    /// The base URL up to /v1 of the critic's server (`reward: endpoint` or `teacher`), and the model name sent.
    public var rewardURL: String?
    public var rewardModelName: String = "reward-model"
    /// summarization, qa or code: the task whose span labels the critiques use.
    public var task: String = "summarization"
    /// The longest critique in tokens.
    public var critiqueTokens: Int = 256
    /// A local reward model may quote text that is not in the response (by default only verbatim substrings).
    public var freeQuotes: Bool = false
    /// At most this many quotes per label: a local reward model's decoding, or the builtin teacher's cap (unset:
    /// no limit).
    public var maxQuotes: Int?
    /// Scalar mode's sequence score: the sum of the token scores (token mode's return, the default) or their mean
    /// over the quoted tokens.
    public var scalarScore: SequenceScoreRule = .sum
    /// PPO steps: each samples `batch_size` rollouts and runs `ppo_epochs` passes over them.
    public var steps: Int = 100
    /// Rollouts per step.
    public var batchSize: Int = 8
    /// Rollouts per optimizer update.
    public var miniBatchSize: Int = 4
    /// Passes over each step's rollouts.
    public var ppoEpochs: Int = 4
    /// Sampling temperature of the rollouts; log-probabilities are taken at the same temperature.
    public var temperature: Double = 0.7
    public var topP: Double = 1.0
    public var topK: Int = 0
    /// The longest response in tokens.
    public var maxNewTokens: Int = 48
    /// End of sequence is not drawn before this many tokens (the authors' SLF5K runs used 45): without it, span
    /// rewards let a policy escape blame by stopping early, since what a response leaves out has no span to blame.
    public var minNewTokens: Int = 0
    /// The peak learning rate of the policy (the adapter, or every weight at lora_rank 0).
    public var learningRate: Double = 1e-4
    /// The value head's learning rate, as a multiple of `learning_rate`.
    public var valueLearningRateScale: Double = 1.0
    public var schedule: LearningRateSchedule.Kind = .constant
    public var warmupSteps: Int = 0
    public var weightDecay: Double = 0.0
    /// Global-norm gradient clipping over the policy and the value head; 0 turns it off.
    public var maxGradNorm: Double = 1.0
    /// LoRA on the policy (0: every weight trains, against a frozen copy as the reference).
    public var loraRank: Int = 16
    public var loraAlpha: Double = 32
    public var loraDropout: Double = 0.0
    public var loraTargets: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    /// The products with the frozen base under LoRA (the policy's passes and the reference's): fp32, or bf16.
    public var basePrecision: ProductPrecision = .fp32
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
    /// Steps between evaluations on `eval_prompts` (0: only at the end).
    public var evalEvery: Int = 0
    /// Steps between checkpoints (0: only at the end).
    public var saveEvery: Int = 0
    public var keepCheckpoints: Int = 2
    /// Rollouts per step written to samples.jsonl.
    public var samplesPerStep: Int = 2
    /// Seeds the adapter, the value head, the prompt order and the sampling.
    public var seed: UInt64 = 0
    public var threads: Int = Compute.defaultThreadCount
    /// The precision of the matrices rollouts (and a local reward model's critiques) are decoded with: auto (bf16
    /// when the checkpoint stores bf16), bf16 or fp32. Log-probabilities for the update are always computed in fp32.
    public var rolloutWeights: DecodePrecision = .auto

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case model, prompts, evalPrompts = "eval_prompts", evalLimit = "eval_limit", evalGreedy = "eval_greedy"
        case evalCritique = "eval_critique", output, rewardMode = "reward_mode", reward
        case rewardModel = "reward_model", rewardAdapter = "reward_adapter", rewardURL = "reward_url"
        case rewardModelName = "reward_model_name", task, critiqueTokens = "critique_tokens", freeQuotes = "free_quotes"
        case maxQuotes = "max_quotes"
        case scalarScore = "scalar_score"
        case steps, batchSize = "batch_size", miniBatchSize = "mini_batch_size", ppoEpochs = "ppo_epochs"
        case temperature, topP = "top_p", topK = "top_k", maxNewTokens = "max_new_tokens", minNewTokens = "min_new_tokens"
        case learningRate = "learning_rate", valueLearningRateScale = "value_learning_rate_scale", schedule
        case warmupSteps = "warmup_steps", weightDecay = "weight_decay", maxGradNorm = "max_grad_norm"
        case loraRank = "lora_rank", loraAlpha = "lora_alpha", loraDropout = "lora_dropout", loraTargets = "lora_targets"
        case basePrecision = "base_precision"
        case klEstimator = "kl_estimator", klCoef = "kl_coef", klTarget = "kl_target", klHorizon = "kl_horizon"
        case gamma, lam, cliprange, cliprangeValue = "cliprange_value", vfCoef = "vf_coef", entropyCoef = "entropy_coef"
        case ratioThreshold = "ratio_threshold", logRatioClamp = "log_ratio_clamp", whitenAdvantages = "whiten_advantages"
        case neutralScore = "neutral_score", scoreNonAlphanumeric = "score_non_alphanumeric"
        case unparsedScore = "unparsed_score", missingEOSPenalty = "missing_eos_penalty"
        case evalEvery = "eval_every", saveEvery = "save_every", keepCheckpoints = "keep_checkpoints"
        case samplesPerStep = "samples_per_step", seed, threads, rolloutWeights = "rollout_weights"
    }

    public init() {}

    public func validate() throws {
        func fail(_ reason: String) -> TrainingError { .badConfig(path: "config", reason: reason) }
        if model.isEmpty { throw fail("'model' is required") }
        if prompts.isEmpty { throw fail("'prompts' is required") }
        for (key, value) in [("steps", steps), ("batch_size", batchSize), ("mini_batch_size", miniBatchSize),
                             ("ppo_epochs", ppoEpochs), ("max_new_tokens", maxNewTokens), ("threads", threads),
                             ("keep_checkpoints", keepCheckpoints), ("eval_limit", evalLimit)] where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        if (try? RewardModelFormat.builtin(task)) == nil {
            throw fail("'task' must be summarization, qa or code, got '\(task)'")
        }
        if critiqueTokens <= 0 || critiqueTokens > 1 << 16 {
            throw fail("'critique_tokens' must be in 1...\(1 << 16), got \(critiqueTokens)")
        }
        if let maxQuotes, maxQuotes < 0 { throw fail("'max_quotes' must be ≥ 0, got \(maxQuotes)") }
        if minNewTokens < 0 || minNewTokens > maxNewTokens {
            throw fail("'min_new_tokens' must be in 0...max_new_tokens (\(maxNewTokens)), got \(minNewTokens)")
        }
        if miniBatchSize > batchSize { throw fail("'mini_batch_size' (\(miniBatchSize)) exceeds 'batch_size' (\(batchSize))") }
        if !(temperature > 0 && temperature.isFinite) { throw fail("'temperature' must be positive (rollouts sample)") }
        if !(topP > 0 && topP <= 1) { throw fail("'top_p' must be in (0, 1]") }
        if topK < 0 { throw fail("'top_k' must be ≥ 0") }
        try TrainingSettings.validate(learningRate: learningRate, warmupSteps: warmupSteps, weightDecay: weightDecay,
                                      maxGradNorm: maxGradNorm, evalEvery: evalEvery, saveEvery: saveEvery, fail: fail)
        try TrainingSettings.validateLoRA(rank: loraRank, dropout: loraDropout, targets: loraTargets,
                                          basePrecision: basePrecision, fail: fail)
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

    public var lora: LoRAConfig? {
        TrainingSettings.lora(rank: loraRank, alpha: loraAlpha, dropout: loraDropout, rsLoRA: false, targets: loraTargets)
    }

    public var adamw: AdamWConfig { AdamWConfig(weightDecay: Float(weightDecay)) }

    public var loop: LoopSettings {
        var settings = LoopSettings(
            output: output, steps: steps,
            schedule: LearningRateSchedule(kind: schedule, peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps),
            maxGradNorm: maxGradNorm, evalEvery: evalEvery, saveEvery: saveEvery, keepCheckpoints: keepCheckpoints)
        // Held-out curves start at the policy PPO starts from.
        settings.evaluatesAtStart = evalEvery > 0
        return settings
    }
}
