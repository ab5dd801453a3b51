import Common
import Foundation
import Models
import RewardModel
import Tokenizers
import Training

/// `text2grad train-policy` as a library call: loads the policy (LoRA adapter + value head, or every weight
/// against a frozen reference copy), its prompts, and runs the training loop with the PPO objective; writes
/// config.yaml, metrics.jsonl, samples.jsonl and checkpoints (adapter, value head, every optimizer's moments,
/// the sampling RNG, the prompt cursor and β).
public final class PolicyTrainer {
    public let config: PPOConfig
    public let objective: PPOObjective
    public let loop: TrainingLoop<PPOObjective>

    public convenience init(
        config: PPOConfig, critic: CritiqueSource, format: RewardModelFormat, resume: Bool = false,
        reducer: GradientReducer = LocalReducer(), warn: (String) -> Void = { _ in }
    ) throws {
        try self.init(config: config, critic: critic, format: format, resume: resume, reducer: reducer, warn: warn) {
            try PolicyPrompt.load(path: config.prompts, tokenizer: $0)
        }
    }

    /// The same with the training prompts that `prompts` makes for the policy's tokenizer instead of the
    /// `prompts` file's (`config.prompts` then only names them): what `bench ppo` times.
    public init(
        config: PPOConfig, critic: CritiqueSource, format: RewardModelFormat, resume: Bool = false,
        reducer: GradientReducer = LocalReducer(), warn: (String) -> Void = { _ in },
        prompts makePrompts: (Tokenizer) throws -> [PolicyPrompt]
    ) throws {
        try config.validate()
        if resume { try ModelFiles.checkResume(config, run: config.loop.output) }
        self.config = config
        let (model, tokenizer) = try ModelFiles.load(directory: config.model.path, threads: config.model.threads)
        guard let tokenizer else {
            throw TrainingError.badConfig(path: config.model.path, reason: "the policy needs its tokenizer.json")
        }
        let prompts = try makePrompts(tokenizer)
        let evalPrompts = try config.evalPrompts.map { Array(try PolicyPrompt.load(path: $0, tokenizer: tokenizer).prefix(config.evalLimit)) } ?? []
        model.productPrecision = config.lora.productPrecision
        let trainable = TrainableModel(model: model, directory: config.model.path, lora: config.lora.config,
                                       adamw: config.optimizer.adamw, seed: config.loop.seed,
                                       valueHeadRate: config.valueLearningRateScale)
        let reference = config.lora.config == nil ? try LlamaModel(directory: config.model.path) : nil
        objective = PPOObjective(config: config, trainable: trainable, tokenizer: tokenizer, critic: critic, format: format,
                                 prompts: prompts, evalPrompts: evalPrompts, frozenReference: reference)
        var fingerprint = Fingerprint()
        fingerprint.add(try ConfigFile.yaml(config))
        for prompt in prompts + evalPrompts { fingerprint.add(prompt.ids) }
        loop = try TrainingLoop(settings: config.loopSettings, trainable: trainable, objective: objective,
                                reducer: reducer, fingerprint: fingerprint.value, resume: resume, warn: warn)
        if reducer.rank == 0 {
            try ModelFiles.saveConfig(config, run: config.loop.output)
            if config.samplesPerStep > 0 {
                objective.samples = try StepFile(path: config.loop.output + "/samples.jsonl", keepThrough: loop.step)
            }
        }
    }

    /// Trains until step `last` (default: the configured steps); returns each step's record.
    @discardableResult
    public func run(until last: Int? = nil) throws -> [(step: Int, metrics: [String: Double])] {
        try loop.run(until: last)
    }
}
