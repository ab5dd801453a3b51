import ArgumentParser
import Common
import Foundation
import Generation
import Models
import PolicyOptimization
import RewardModel
import Spans
import Tensor
import Training

extension RewardMode: ExpressibleByArgument {}
extension SequenceScoreRule: ExpressibleByArgument {}
extension KLEstimator: ExpressibleByArgument {}

/// `text2grad train-policy`: PPO whose rewards come from critiques, per token (Text2Grad) or per sequence.
struct TrainPolicy: ParsableCommand, ConfiguredCommand {
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

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Model") var model: ModelOptions<TrainPolicy>
    @OptionGroup(title: "Decoding") var decoding: DecodingOptions<TrainPolicy>
    @OptionGroup(title: "LoRA") var lora: LoRAOptions<TrainPolicy>
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions<TrainPolicy>
    @OptionGroup(title: "Loop") var loop: LoopOptions<TrainPolicy>
    @OptionGroup(title: "Sampling") var sampling: SamplingOptions<TrainPolicy>
    @OptionGroup(title: "Critic") var critic: CriticOptions<TrainPolicy>
    @Option(help: "Prompts JSONL ({\"id\", \"prompt\"} or {\"id\", \"messages\"}).") var prompts: String?
    @Option(help: "Held-out prompts, evaluated with the rollouts' decoding and fixed seeds.") var evalPrompts: String?
    @Option(help: ArgumentHelp("Held-out prompts evaluated at most." + Self.defaultNote(\.evalLimit)))
    var evalLimit: Int?
    @Flag(help: "Evaluate held-out prompts greedily instead.") var evalGreedy = false
    @Flag(inversion: .prefixedNo, help: "Critique every held-out response (eval/score); without, only the one logged. (default: on)")
    var evalCritique: Bool?
    @Option(help: ArgumentHelp("token (Text2Grad) or scalar (baseline)." + Self.defaultNote(\.rewardMode)))
    var rewardMode: RewardMode?
    @Option(help: ArgumentHelp("Scalar mode's sequence score: sum (of the token scores: token mode's return) or mean "
                               + "(over quoted tokens)." + Self.defaultNote(\.scalarScore)))
    var scalarScore: SequenceScoreRule?
    @Option(help: ArgumentHelp("Rollouts per update." + Self.defaultNote(\.miniBatchSize))) var miniBatchSize: Int?
    @Option(help: ArgumentHelp("Passes over each step's rollouts." + Self.defaultNote(\.ppoEpochs))) var ppoEpochs: Int?
    @Option(help: ArgumentHelp("KL coefficient β (start value when adaptive)." + Self.defaultNote(\.klCoef)))
    var klCoef: Double?
    @Option(help: "Target KL for the adaptive controller. (default: fixed β)") var klTarget: Double?
    @Option(help: ArgumentHelp("The KL estimator." + Self.defaultNote(\.klEstimator))) var klEstimator: KLEstimator?
    @Option(help: ArgumentHelp("GAE's discount γ." + Self.defaultNote(\.gamma))) var gamma: Double?
    @Option(help: ArgumentHelp("GAE's λ: how far each reward reaches back past the value estimates."
                               + Self.defaultNote(\.lam)))
    var lam: Double?
    @Option(name: .customLong("rollout-weights"), help: .hidden) var rolloutWeights: DecodePrecision?
    @Flag(help: "Continue from the newest readable checkpoint.") var resume = false
    @Option(help: .hidden) var stepDelay: Double = 0

    func resolvedConfig() throws -> PPOConfig {
        try Self.resolve(file: file.config) { c in
            c.decoding.override(\.weights, rolloutWeights)
            model.apply(to: &c)
            decoding.apply(to: &c)
            lora.apply(to: &c)
            optimizer.apply(to: &c)
            loop.apply(to: &c)
            sampling.apply(to: &c)
            critic.apply(to: &c)
            c.override(\.prompts, prompts)
            c.override(\.evalPrompts, evalPrompts)
            c.override(\.evalLimit, evalLimit)
            if evalGreedy { c.evalGreedy = true }
            c.override(\.evalCritique, evalCritique)
            c.override(\.rewardMode, rewardMode)
            c.override(\.scalarScore, scalarScore)
            c.override(\.miniBatchSize, miniBatchSize)
            c.override(\.ppoEpochs, ppoEpochs)
            c.override(\.klCoef, klCoef)
            c.override(\.klTarget, klTarget)
            c.override(\.klEstimator, klEstimator)
            c.override(\.gamma, gamma)
            c.override(\.lam, lam)
        }
    }

    func run() throws {
        try distributed(train)
    }

    func train(reducer: GradientReducer) throws {
        var c = try resolvedConfig()
        let (critic, _) = try LocalModel.critic(c.critic, format: try RewardModelFormat.builtin(c.task),
                                                weights: c.decoding.weights)
        // The reward model's answer format, as found, is saved with the run (a report tells formats apart by it).
        if c.critic.source == .rm || c.critic.source == .endpoint { c.critic.target = critic.format.target }
        let trainer = try PolicyTrainer(config: c, critic: critic, format: critic.format, resume: resume,
                                        reducer: reducer, warn: { note("train-policy: " + $0) })
        trainer.objective.taskMetric = BuiltinTeacherSource.taskMetric
        trainer.loop.stepDelay = stepDelay
        announce("train-policy", reducer: reducer, threads: c.model.threads)
        trainer.loop.progress = reducer.rank == 0
            ? ProgressReporter(total: c.loop.steps, style: .auto, interval: 10, unit: "steps") : nil
        let mode = c.rewardMode == .token ? "token-level" : "scalar"
        let source = c.critic.source.rawValue
        note("train-policy: \(trainer.objective.prompts.count) prompts, \(mode) rewards from \(source)"
            + (trainer.loop.step > 0 ? ", resuming after step \(trainer.loop.step)" : ""))
        do {
            try trainer.run()
            trainer.loop.progress?.finish()
        } catch let error as TrainingError {
            trainer.loop.progress?.finish()
            note("error: \(error)")
            throw Exit.interrupted
        }
        note("train-policy: done; metrics, samples and checkpoints in \(c.loop.output)")
    }
}
