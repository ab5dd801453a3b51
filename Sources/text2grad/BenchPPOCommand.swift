import ArgumentParser
import Common
import Demo
import FactSummaries
import Foundation
import JSON
import Generation
import Models
import Tensor
import PolicyOptimization
import RewardModel
import Tokenizers
import Training

/// `text2grad bench ppo`: steps of `train-policy`'s own PPO trainer at one shape, each phase's seconds as JSON, as
/// `bench/torch_ppo_step.py` times the same step in PyTorch.
struct BenchPPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "PPO steps of train-policy's trainer: rollout, critique, reference/KL, advantages, optimize (JSON).",
        discussion: """
            Each timed iteration is one step of the PPO objective and training loop that train-policy runs, rewarded \
            by the built-in task's teacher (--reward builtin): --batch posts of the built-in task, each prompt exactly \
            --prompt-tokens ids (the post in the model's chat template, repeated until long enough and cut to its \
            last --prompt-tokens ids, so the assistant's turn still opens it), each answered with exactly \
            --max-new-tokens sampled tokens (no end of sequence before), so every step and both engines do the \
            same work. With --shape the weights are random (as init-model draws them) and the tokenizer is the \
            shipped demo base's (byte-level BPE, 1,024 ids): demo-tiny is that base's own shape; a larger \
            vocabulary (smollm-135m: 49,152) is kept whole, as a padded vocabulary, so the LM head costs what it \
            costs at that shape, and sampled ids the tokenizer lacks decode to no text (the critic reads less); a \
            smaller one grows to 1,024. With --model, the model's own weights and tokenizer. \
            Phases (min, median and max seconds over the timed steps): rollout; score (the critiques and their \
            span scores); old_policy (the policy's forward for the old log-probabilities and values); reference \
            (the reference's forward, the KL and the rewards: train-policy's time/reference, inside its \
            time/rewards); advantages; optimize (--epochs passes of --mini-batch updates). \
            bench/torch_ppo_step.py is the same step in PyTorch; bench/ppo_engines.sh runs both, alternating.
            """)

    @OptionGroup var options: BenchModelOptions

    @Option(help: "Rollouts per step. (default: 8; 16 at --shape demo-tiny, as the demo)")
    var batch: Int?

    @Option(help: "Rollouts per optimizer update. (default: 4; 8 at --shape demo-tiny)")
    var miniBatch: Int?

    @Option(help: "Passes over each step's rollouts.")
    var epochs: Int = 4

    @Option(help: "Ids in every prompt (the task's prompts in the demo base's chat template: 65-102, 85 on average).")
    var promptTokens: Int = 85

    @Option(help: "Sampled tokens in every response. (default: 48; 40 at --shape demo-tiny)")
    var maxNewTokens: Int?

    @Option(help: "LoRA rank on q/k/v/o; 0 trains every weight against a frozen reference copy.")
    var loraRank: Int = 16

    @Option(help: "token (span scores on their tokens) or scalar (their sum on the last token).")
    var rewardMode: RewardMode = .token

    @Option(help: "Matrices the rollouts decode with: auto (bf16 for a bf16 checkpoint), bf16, fp32.")
    var rolloutWeights: DecodePrecision = .auto

    @Option(help: "Products with the frozen base under LoRA: fp32, or bf16 (rounded operands, fp32 sums).")
    var basePrecision: BasePrecision = .fp32

    @Option(help: "Seeds the adapter, the value head and the sampling.")
    var seed: UInt64 = 0

    /// The demo's PPO sizes apply to the demo's shape.
    var demoShape: Bool { options.model == nil && options.shape == "demo-tiny" }
    var rollouts: Int { batch ?? (demoShape ? DemoSizes(.full).ppoBatch : PPOConfig().loop.batchSize) }
    var miniBatchSize: Int { miniBatch ?? (demoShape ? max(1, rollouts / 2) : PPOConfig().miniBatchSize) }
    var newTokens: Int { maxNewTokens ?? (demoShape ? DemoEvaluation.maxNewTokens : PPOConfig().sampling.maxNewTokens) }

    func validate() throws {
        for (name, value) in [("batch", rollouts), ("mini-batch", miniBatchSize), ("epochs", epochs),
                              ("prompt-tokens", promptTokens), ("max-new-tokens", newTokens)] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
        guard miniBatchSize <= rollouts else { throw ValidationError("--mini-batch exceeds --batch") }
        guard loraRank >= 0 else { throw ValidationError("--lora-rank must be ≥ 0") }
        guard loraRank > 0 || basePrecision == .fp32 else {
            throw ValidationError("--base-precision bf16 is for a frozen base: it needs --lora-rank > 0")
        }
        if options.model == nil, LlamaConfig.namedShapes[options.shape] == nil {
            throw ValidationError("unknown --shape \(options.shape)")
        }
    }

    func run() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("text2grad-bench-ppo-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try options.model ?? randomModel(into: directory + "/model")
        var c = PPOConfig()
        c.model.path = model
        c.prompts = "\(rollouts) built-in task prompts of \(promptTokens) ids"
        c.loop.output = directory + "/run"
        c.critic.source = .builtin
        c.rewardMode = rewardMode
        // One step more than run: the last step's evaluation and checkpoint never happen inside the timing.
        c.loop.steps = options.warmup + options.iterations + 1
        c.loop.batchSize = rollouts
        c.miniBatchSize = miniBatchSize
        c.ppoEpochs = epochs
        c.sampling.maxNewTokens = newTokens
        c.sampling.minNewTokens = newTokens
        c.lora.rank = loraRank
        c.decoding.weights = rolloutWeights
        c.lora.basePrecision = basePrecision
        c.samplesPerStep = 0
        c.loop.seed = seed
        c.model.threads = options.threads
        let format = try RewardModelFormat.builtin(c.task)
        let texts = try (0..<rollouts).map { i in
            FactTask.policyPrompt(post: try FactTask.item(.train, index: i, options: FactTaskOptions()).post.text)
        }
        let critic = try LocalModel.critic(c.critic, format: format, weights: c.decoding.weights).0
        let trainer = try PolicyTrainer(config: c, critic: critic, format: critic.format,
                                        warn: { note("bench ppo: " + $0) }) { tokenizer in
            try texts.enumerated().map { i, text in
                try PolicyPrompt.fitted(id: "post-\(i)", text: text, length: promptTokens, tokenizer: tokenizer)
            }
        }
        trainer.objective.taskMetric = BuiltinTeacherSource.taskMetric
        var records: [[String: Double]] = []
        let seconds = try options.time {
            records += try trainer.run(until: trainer.loop.step + 1).map(\.metrics)
        }
        try StandardOutput.line(JSONLines.encode(report(seconds, steps: Array(records.suffix(options.iterations)),
                                                        trainer: trainer)))
    }

    /// The phases of the JSON, each from a step's metrics: train-policy's `time/*`, with the reference's share
    /// of `time/rewards` taken out as its own phase.
    static let phases: [(name: String, seconds: @Sendable ([String: Double]) -> Double)] = [
        ("rollout", { $0["time/rollout"] ?? .nan }),
        ("score", { $0["time/score"] ?? .nan }),
        ("old_policy", { ($0["time/rewards"] ?? .nan) - ($0["time/reference"] ?? .nan) }),
        ("reference", { $0["time/reference"] ?? .nan }),
        ("advantages", { $0["time/advantages"] ?? .nan }),
        ("optimize", { $0["time/optimize"] ?? .nan }),
    ]

    /// The JSON line: the step's seconds and each phase's over the timed steps, with what was run.
    func report(_ seconds: BenchSeconds, steps: [[String: Double]], trainer: PolicyTrainer) -> JSONValue {
        var phases: JSONValue = [:], medians: [String: Double] = [:]
        for (name, value) in Self.phases {
            let times = BenchSeconds(steps.map(value))
            phases[name] = times.fields
            medians[name] = times.median
        }
        let last = steps.last ?? [:]
        let updates = epochs * ((rollouts + miniBatchSize - 1) / miniBatchSize)
        let model = trainer.objective.trainable.model
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return seconds.fields.merging([
            "bench": "ppo", "engine": "text2grad", "model": JSONValue(options.model ?? options.shape),
            "mode": loraRank > 0 ? "lora" : "full", "lora_rank": JSONValue(loraRank),
            "reward_mode": JSONValue(rewardMode.rawValue), "critic": "builtin-teacher", "batch": JSONValue(rollouts),
            "mini_batch": JSONValue(miniBatchSize), "epochs": JSONValue(epochs),
            "prompt_tokens": JSONValue(promptTokens), "new_tokens": JSONValue(newTokens),
            "threads": JSONValue(options.threads), "vocab_size": JSONValue(model.config.vocabSize),
            "parameters": JSONValue(model.weights.parameterCount),
            "trainable_parameters":
                JSONValue(trainer.objective.trainable.groups.reduce(0) { $0 + $1.parameters.count }),
            "rollout_weights": JSONValue(rolloutWeights.rawValue), "base_precision": JSONValue(basePrecision.rawValue),
            "seconds": JSONValue(seconds.median),
            "phases": phases, "phase_seconds": .numbers(medians),
            "response_tokens": JSONValue(last["tokens"] ?? .nan), "updates": JSONValue(updates),
            "skipped_minibatches": JSONValue(last["val/skipped_minibatches"] ?? .nan),
            "kl": JSONValue(last["objective/kl"] ?? .nan), "peak_memory_mib": JSONValue(Double(usage.ru_maxrss) / 1024),
        ])
    }

    /// Random weights of --shape, written as `init-model` writes them, with the shipped demo base's tokenizer;
    /// the shape's vocabulary is kept when it is at least the tokenizer's.
    func randomModel(into path: String) throws -> String {
        guard let base = DemoBase.shipped else {
            throw ValidationError("the demo base's tokenizer is not installed beside the tool: give --model DIR")
        }
        var shape = try RandomModel.shapeObject(options.shape)
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: base))
        if let stated = shape["vocab_size"]?.intValue, stated < tokenizer.vocabSize {
            shape["vocab_size"] = nil
        }
        try ModelFiles.initialize(base: shape, tokenizer: base, output: path, seed: 0, std: 0.02,
                                  keepLargerVocabulary: true)
        return path
    }
}
