import Common
import Foundation
import JSON
import Models
import Tensor
import Tokenizers

/// One SFT step's figures, as metrics.jsonl records them.
public struct StepMetrics: Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var tokens: Int
    public var seconds: Double
    public var evalLoss: Double?

    /// Reads a loop record.
    init(step: Int, _ m: [String: Double]) {
        self.step = step
        loss = m["loss"] ?? .nan
        learningRate = m["lr"] ?? .nan
        gradientNorm = m["grad_norm"] ?? .nan
        tokens = Int(m["tokens"] ?? 0)
        seconds = m["seconds"] ?? 0
        evalLoss = m["eval_loss"]
    }
}

/// `text2grad sft` as a library call: loads the model, its tokenizer and the data, then runs the training loop
/// with the SFT objective (LoRA or every weight), checkpoints and exact resume.
public final class SFTTrainer {
    public let config: SFTConfig
    public let model: LlamaModel
    public let objective: SFTObjective
    public let loop: TrainingLoop<SFTObjective>
    public var train: [SFTExample] { objective.train }
    public var eval: [SFTExample] { objective.eval }
    /// The step and objective state the run stands at.
    public var state: CheckpointState<SFTObjective.State> { CheckpointState(step: loop.step, objective: objective.state) }

    /// Loads the model and data; with `resume`, the newest readable checkpoint in the run directory. Only rank 0
    /// of `reducer` writes files. `examples`, when given, makes the training and held-out examples from the
    /// model's tokenizer instead of reading `config.data` as SFT JSONL (the reward model's data).
    public init(config: SFTConfig, resume: Bool = false, reducer: GradientReducer = LocalReducer(),
                examples: ((Tokenizer?) throws -> (train: [SFTExample], eval: [SFTExample]))? = nil,
                warn: (String) -> Void = { _ in }) throws {
        try config.validate()
        if resume { try ModelFiles.checkResume(config, run: config.loop.output) }
        self.config = config
        let (model, tokenizer) = try ModelFiles.load(directory: config.model.path, threads: config.model.threads)
        // No example is longer than the model's context: past it, examples are cut at the context (and said so).
        let maxLength = min(config.maxLength, model.config.maxPositionEmbeddings)
        if maxLength < config.maxLength {
            warn("'max_length' \(config.maxLength) exceeds the model's context (max_position_embeddings "
                 + "\(model.config.maxPositionEmbeddings)): examples are cut at \(maxLength) tokens")
        }
        self.model = model
        let train: [SFTExample], eval: [SFTExample]
        if let examples {
            (train, eval) = try examples(tokenizer)
            if train.isEmpty { throw TrainingError.emptyData(path: config.data, reason: "no training examples") }
        } else {
            var dropped: [Int] = []
            let all = try SFTData.load(path: config.data, tokenizer: tokenizer, maxLength: maxLength,
                                       vocabularySize: model.config.vocabSize, dropped: &dropped)
            SFTData.droppedWarning(path: config.data, lines: dropped, maxLength: maxLength).map(warn)
            if let evalPath = config.evalData {
                train = all
                var droppedEval: [Int] = []
                eval = try SFTData.load(path: evalPath, tokenizer: tokenizer, maxLength: maxLength,
                                        vocabularySize: model.config.vocabSize, dropped: &droppedEval)
                SFTData.droppedWarning(path: evalPath, lines: droppedEval, maxLength: maxLength).map(warn)
            } else {
                (train, eval) = SFTData.split(all, fraction: config.evalFraction, seed: config.loop.seed)
            }
        }
        model.productPrecision = config.lora.productPrecision
        let trainable = TrainableModel(model: model, directory: config.model.path, lora: config.lora.config,
                                       adamw: config.optimizer.adamw, seed: config.loop.seed)
        objective = SFTObjective(trainable: trainable, train: train, eval: eval, batchSize: config.loop.batchSize,
                                 gradientAccumulation: config.gradientAccumulation,
                                 padId: ModelFiles.padId(tokenizer: tokenizer, model: model), seed: config.loop.seed)
        var fingerprint = Fingerprint()
        fingerprint.add(try ConfigFile.yaml(config))
        for example in train + eval { fingerprint.add(example.tokens + [example.targetStart, example.targetEnd]) }
        loop = try TrainingLoop(settings: config.loopSettings, trainable: trainable, objective: objective,
                                reducer: reducer, fingerprint: fingerprint.value, resume: resume, warn: warn)
        if reducer.rank == 0 { try ModelFiles.saveConfig(config, run: config.loop.output) }
    }

    /// Seconds to sleep after each step (lets tests interrupt a run at a known point).
    public var stepDelay: Double {
        get { loop.stepDelay }
        set { loop.stepDelay = newValue }
    }

    /// Trains until step `until` (default `config.loop.steps`); returns the steps run here.
    @discardableResult
    public func run(until last: Int? = nil) throws -> [StepMetrics] {
        try loop.run(until: last).map { StepMetrics(step: $0.step, $0.metrics) }
    }
}

/// Loading what every trainer starts from, and writing the run's resolved configuration.
public enum ModelFiles {
    /// Sets the engine's thread count, then loads the model of a Hugging Face directory and its tokenizer.json
    /// when there is one.
    public static func load(directory: String, threads: Int) throws -> (LlamaModel, Tokenizer?) {
        Compute.useThreads(threads)
        let model = try LlamaModel(directory: directory)
        let tokenizer = FileManager.default.fileExists(atPath: directory + "/tokenizer.json")
            ? try Tokenizer.load(directory: URL(fileURLWithPath: directory)) : nil
        return (model, tokenizer)
    }

    /// The padding id: the tokenizer's, the config's, else the first end-of-sequence id.
    public static func padId(tokenizer: Tokenizer?, model: LlamaModel) -> Int {
        tokenizer?.padTokenId ?? model.config.padTokenId ?? model.config.eosTokenIds.first ?? 0
    }

    /// Writes a randomly initialised model directory: the tokenizer files of `tokenizer` (with `chatTemplate` if
    /// given), a config from `base` (a named shape's or a user's config.json object) sized to that tokenizer, and
    /// weights drawn from `seed` with standard deviation `std`. Returns the config and the parameter count.
    @discardableResult
    public static func initialize(
        base: JSONValue, tokenizer: String, chatTemplate: String? = nil, output: String, seed: UInt64, std: Float,
        keepLargerVocabulary: Bool = false
    ) throws -> (config: LlamaConfig, parameters: Int) {
        let tok = try TokenizerFiles.install(from: URL(fileURLWithPath: tokenizer), to: URL(fileURLWithPath: output),
                                             chatTemplate: chatTemplate)
        let object = try RandomModel.configObject(
            base: base, vocabularySize: tok.vocabSize, bosTokenId: tok.bosTokenId, eosTokenId: tok.eosTokenId,
            padTokenId: tok.padTokenId, keepLargerVocabulary: keepLargerVocabulary, initializerRange: std)
        let written = try RandomModel.write(config: object, seed: seed, directory: output)
        return (written, LlamaWeights.layout(written).reduce(0) { $0 + $1.shape.reduce(1, *) })
    }

    /// Settings a resumed run may change: how long it runs and how it logs, not what it trains.
    public static let resumableKeys: Set<String> = [
        "steps", "threads", "output", "eval_every", "save_every", "keep_checkpoints", "samples_per_step",
    ]

    /// With `--resume`, refuses a configuration that differs from the run's saved `config.yaml` in anything but
    /// `resumableKeys`, naming the setting (`ConfigFile.checkResume`).
    public static func checkResume<Config: RunConfiguration>(_ config: Config, run: String) throws {
        try ConfigFile.checkResume(config, savedAt: run + "/config.yaml", mayChange: resumableKeys)
    }

    /// Writes `config.yaml` into the run directory.
    public static func saveConfig<Config: RunConfiguration>(_ config: Config, run: String) throws {
        do {
            try ConfigFile.save(config, to: run + "/config.yaml")
        } catch let FileError.io(_, detail) {
            throw TrainingError.cannotWrite(path: run + "/config.yaml", reason: detail)
        }
    }
}
