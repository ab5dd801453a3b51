import Annotation
import ArgumentParser
import Common
import Foundation
import Generation
import LLMClient
import Models
import PolicyOptimization
import RewardModel
import Tensor
import Training

extension RewardMode: ExpressibleByArgument {}
extension SequenceScoreRule: ExpressibleByArgument {}
extension KLEstimator: ExpressibleByArgument {}
extension RewardSource: ExpressibleByArgument {}

/// `text2grad train-policy`: PPO whose rewards come from critiques, per token (Text2Grad) or per sequence.
struct TrainPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-policy",
        abstract: "PPO with rewards from natural-language critiques: per token (Text2Grad) or scalar (baseline).",
        discussion: """
            Each step samples --batch-size responses from the LoRA policy, has the reward source critique them, \
            turns the critiqued spans into per-token scores through each token's character offsets (token mode) \
            or one sequence score on the last token (scalar mode: by default the sum of the token scores, the same \
            return as token mode), \
            subtracts β·KL against the reference (the same weights with the adapter off), computes GAE advantages \
            and runs --ppo-epochs clipped-PPO passes over mini-batches, training the adapter and a value head. \
            Reward sources: --reward rm (a local reward model: --reward-model DIR [--reward-adapter DIR]), \
            endpoint (an OpenAI-compatible server of a reward model: --reward-url, asked with the reward model's \
            prompt), teacher (any OpenAI-compatible LLM asked with the annotation prompts: --reward-url), \
            builtin (the built-in task's rule-based teacher). Settings, the critic's included: defaults, --config \
            YAML, flags; saved as <output>/config.yaml, and --resume with settings other than the run's (but for \
            steps, threads and logging) is an error naming the setting. Writes metrics.jsonl (TRL's names), samples.jsonl and checkpoints/step-N.
            """)

    @Option(help: "YAML config file (snake_case keys); flags override its values.") var config: String?
    @Option(help: "The policy's base model directory.") var model: String?
    @Option(help: "Prompts JSONL ({\"id\", \"prompt\"} or {\"id\", \"messages\"}).") var prompts: String?
    @Option(help: "Held-out prompts, evaluated with the rollouts' decoding and fixed seeds.") var evalPrompts: String?
    @Flag(help: "Evaluate held-out prompts greedily instead.") var evalGreedy = false
    @Flag(inversion: .prefixedNo, help: "Critique every held-out response (eval/score); without, only the one logged. (default: on)")
    var evalCritique: Bool?
    @Option(name: [.short, .long], help: "Run directory. (default: runs/ppo)") var output: String?
    @Option(help: "token (Text2Grad) or scalar (baseline). (default: token)") var rewardMode: RewardMode?
    @Option(help: "Scalar mode's sequence score: sum (of the token scores: token mode's return) or mean (over quoted tokens). (default: sum)")
    var scalarScore: SequenceScoreRule?
    @Option(help: "PPO steps. (default: 100)") var steps: Int?
    @Option(help: "Rollouts per step. (default: 8)") var batchSize: Int?
    @Option(help: "Rollouts per update. (default: 4)") var miniBatchSize: Int?
    @Option(help: "Passes over each step's rollouts. (default: 4)") var ppoEpochs: Int?
    @Option(help: "Sampling temperature. (default: 0.7)") var temperature: Double?
    @Option(help: "Longest response in tokens. (default: 48)") var maxNewTokens: Int?
    @Option(help: "No end of sequence before this many tokens in rollouts. (default: 0)") var minNewTokens: Int?
    @Option(help: "Learning rate. (default: 1e-4)") var learningRate: Double?
    @Option(help: "KL coefficient β (start value when adaptive). (default: 0.05)") var klCoef: Double?
    @Option(help: "Target KL for the adaptive controller (default: fixed β).") var klTarget: Double?
    @Option(help: "The KL estimator. (default: k1)") var klEstimator: KLEstimator?
    @Option(help: "GAE's discount γ. (default: 1)") var gamma: Double?
    @Option(help: "GAE's λ: how far each reward reaches back past the value estimates. (default: 0.95)") var lam: Double?
    @Option(help: "LoRA rank; 0 trains every weight. (default: 16)") var loraRank: Int?
    @Option(help: "Products with the frozen base under LoRA: fp32, or bf16 (rounded operands, fp32 sums).")
    var basePrecision: ProductPrecision?
    @Option(help: "Steps between evaluations, 0 for the end only. (default: 0)") var evalEvery: Int?
    @Option(help: "Steps between checkpoints, 0 for the end only. (default: 0)") var saveEvery: Int?
    @Option(help: "Random seed. (default: 0)") var seed: UInt64?
    @Option(help: "Engine threads. (default: the machine's cores)") var threads: Int?
    @Option(help: "Matrices for rollouts and a local reward model: auto (bf16 for a bf16 checkpoint), bf16, fp32. (default: auto)")
    var rolloutWeights: DecodePrecision?
    @Option(help: "Who critiques the rollouts. (default: rm)") var reward: RewardSource?
    @Option(help: "The local reward model's directory (--reward rm).") var rewardModel: String?
    @Option(help: "The reward model's LoRA adapter (--reward rm).") var rewardAdapter: String?
    @Option(help: "Base URL up to /v1 (--reward endpoint or teacher).") var rewardURL: String?
    @Option(help: "The model name sent to --reward-url. (default: reward-model)") var rewardModelName: String?
    @Option(help: "summarization, qa or code: the span labels. (default: summarization)") var task: String?
    @Option(help: "Longest critique in tokens. (default: 256)") var critiqueTokens: Int?
    @Flag(help: "A local reward model may quote text that is not in the response (by default only verbatim substrings).")
    var freeQuotes = false
    @Option(help: "At most this many quotes per label: a local reward model's decoding, or the builtin teacher's cap (default: no limit).")
    var maxQuotes: Int?
    @Flag(help: "Continue from the newest readable checkpoint.") var resume = false
    @Option(help: .hidden) var stepDelay: Double = 0

    func validate() throws {
        if let maxQuotes, maxQuotes < 0 { throw ValidationError("--max-quotes must be ≥ 0") }
    }

    func resolvedConfig() throws -> PPOConfig {
        var o = ConfigOverrides()
        o.set("model", model); o.set("prompts", prompts); o.set("eval_prompts", evalPrompts); o.set("output", output)
        o.set("reward_mode", rewardMode?.rawValue); o.set("reward", reward?.rawValue); o.set("steps", steps)
        o.set("batch_size", batchSize)
        o.set("mini_batch_size", miniBatchSize); o.set("ppo_epochs", ppoEpochs); o.set("temperature", temperature)
        o.set("max_new_tokens", maxNewTokens); o.set("min_new_tokens", minNewTokens); o.set("learning_rate", learningRate); o.set("kl_coef", klCoef)
        o.set("kl_target", klTarget); o.set("kl_estimator", klEstimator?.rawValue); o.set("lora_rank", loraRank)
        o.set("gamma", gamma); o.set("lam", lam)
        o.set("eval_every", evalEvery); o.set("save_every", saveEvery); o.set("seed", seed); o.set("threads", threads)
        o.set("rollout_weights", rolloutWeights?.rawValue); o.set("base_precision", basePrecision?.rawValue)
        o.set("scalar_score", scalarScore?.rawValue)
        o.set("reward_model", rewardModel); o.set("reward_adapter", rewardAdapter); o.set("reward_url", rewardURL)
        o.set("reward_model_name", rewardModelName); o.set("task", task); o.set("critique_tokens", critiqueTokens)
        if freeQuotes { o.set("free_quotes", true) }
        o.set("max_quotes", maxQuotes)
        if evalGreedy { o.set("eval_greedy", true) }
        o.set("eval_critique", evalCritique)
        return try ConfigFile.resolve(PPOConfig.self, path: config, overrides: o)
    }

    /// The critic the configuration names (`reward` and the settings that locate it, from flags or YAML).
    static func critic(_ c: PPOConfig, format: RewardModelFormat) throws -> Critic {
        let critic: Critic
        switch c.reward {
        case .rm:
            guard let model = c.rewardModel else { throw ValidationError("--reward rm needs --reward-model DIR") }
            let (lm, tokenizer) = try ChatModelOptions.load(model: model, adapter: c.rewardAdapter,
                                                            weights: c.rolloutWeights)
            critic = Critic(backend: .local(Generator(model: lm, tokenizer: tokenizer), name: c.rewardAdapter ?? model),
                            format: format)
        case .endpoint, .teacher:
            guard let url = c.rewardURL else { throw ValidationError("--reward \(c.reward) needs --reward-url URL") }
            let settings = EndpointSettings(baseURL: url, model: c.rewardModelName,
                                            apiKey: ProcessInfo.processInfo.environment["OPENAI_API_KEY"])
            critic = Critic(backend: .remote(OpenAIClient(settings: settings), settings: settings), format: format)
            if c.reward == .teacher, let builtin = BuiltinTask(rawValue: c.task) { critic.asTeacher(builtin.make()) }
        case .builtin:
            critic = try BuiltinTeacherSource.critic(format: format, maxQuotes: c.maxQuotes)
        }
        critic.maxNewTokens = c.critiqueTokens
        critic.quotesFromResponse = !c.freeQuotes
        critic.maxQuotesPerLabel = c.maxQuotes
        return critic
    }

    func run() throws {
        try distributed(train)
    }

    func train(reducer: GradientReducer) throws {
        let c = try resolvedConfig()
        let format = try RewardModelFormat.builtin(c.task)
        let trainer = try PolicyTrainer(config: c, critic: try Self.critic(c, format: format), format: format,
                                        resume: resume, reducer: reducer, warn: { note("train-policy: " + $0) })
        trainer.objective.taskMetric = BuiltinTeacherSource.taskMetric
        trainer.loop.stepDelay = stepDelay
        announce("train-policy", reducer: reducer, threads: c.threads)
        trainer.loop.progress = reducer.rank == 0 ? ProgressReporter(total: c.steps, style: .auto, interval: 10, unit: "steps") : nil
        let mode = c.rewardMode == .token ? "token-level" : "scalar"
        note("train-policy: \(trainer.objective.prompts.count) prompts, \(mode) rewards from \(c.reward.rawValue)"
            + (trainer.loop.step > 0 ? ", resuming after step \(trainer.loop.step)" : ""))
        do {
            try trainer.run()
            trainer.loop.progress?.finish()
        } catch let error as TrainingError {
            trainer.loop.progress?.finish()
            note("error: \(error)")
            throw Exit.interrupted
        }
        note("train-policy: done; metrics, samples and checkpoints in \(c.output)")
    }
}
