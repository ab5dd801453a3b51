import Foundation
import Models
import Yams

/// Everything an SFT run needs, read from YAML (snake_case keys) and overridden by command-line flags;
/// the resolved configuration is saved as `config.yaml` in the run directory.
public struct SFTConfig: Codable, Sendable, Equatable {
    /// A Hugging Face model directory (config.json, safetensors, tokenizer.json for text data).
    public var model: String = ""
    /// Training JSONL: {"prompt", "completion"} text pairs, {"messages": [...]} chats, or {"prompt_ids", "target_ids"}.
    public var data: String = ""
    /// Held-out JSONL; when absent, `evalFraction` of the training data is held out.
    public var evalData: String?
    public var evalFraction: Double = 0.1
    /// The run directory: metrics.jsonl, config.yaml, checkpoints/step-N/.
    public var output: String = "runs/sft"
    /// Optimizer steps (each `gradientAccumulation` micro-batches of `batchSize` sequences).
    public var steps: Int = 100
    public var batchSize: Int = 4
    public var gradientAccumulation: Int = 1
    /// Longer examples are cut at the end.
    public var maxLength: Int = 512
    public var learningRate: Double = 2e-4
    public var schedule: LearningRateSchedule.Kind = .cosine
    public var warmupSteps: Int = 0
    public var weightDecay: Double = 0.0
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    /// Global-norm gradient clipping; 0 turns it off.
    public var maxGradNorm: Double = 1.0
    /// LoRA rank; 0 trains every parameter.
    public var loraRank: Int = 16
    public var loraAlpha: Double = 32
    public var loraDropout: Double = 0.0
    public var loraRSLoRA: Bool = false
    public var loraTargets: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    public var seed: UInt64 = 0
    /// Steps between held-out evaluations (0: only at the end).
    public var evalEvery: Int = 0
    /// Steps between checkpoints (0: only at the end).
    public var saveEvery: Int = 0
    /// Checkpoints kept (older ones are deleted).
    public var keepCheckpoints: Int = 2
    public var threads: Int = 2

    enum CodingKeys: String, CodingKey {
        case model, data, evalData = "eval_data", evalFraction = "eval_fraction", output, steps
        case batchSize = "batch_size", gradientAccumulation = "gradient_accumulation", maxLength = "max_length"
        case learningRate = "learning_rate", schedule, warmupSteps = "warmup_steps", weightDecay = "weight_decay"
        case beta1, beta2, epsilon, maxGradNorm = "max_grad_norm"
        case loraRank = "lora_rank", loraAlpha = "lora_alpha", loraDropout = "lora_dropout", loraRSLoRA = "lora_rslora"
        case loraTargets = "lora_targets", seed, evalEvery = "eval_every", saveEvery = "save_every"
        case keepCheckpoints = "keep_checkpoints", threads
    }

    public init() {}

    /// Reads a YAML file; missing keys keep their defaults, unknown keys are an error (typos must not pass silently).
    public static func load(yaml path: String) throws -> SFTConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainingError.badConfig(path: path, reason: "cannot read the file")
        }
        guard let node = try Yams.load(yaml: text) else { return SFTConfig() }
        guard let mapping = node as? [String: Any] else { throw TrainingError.badConfig(path: path, reason: "not a YAML mapping") }
        let known = Set(Self.CodingKeys.allKeys)
        if let unknown = mapping.keys.sorted().first(where: { !known.contains($0) }) {
            throw TrainingError.badConfig(path: path, reason: "unknown key '\(unknown)'")
        }
        do {
            return try YAMLDecoder().decode(SFTConfig.self, from: text)
        } catch {
            throw TrainingError.badConfig(path: path, reason: "\(error)")
        }
    }

    /// Missing keys keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.model, &model); try read(.data, &data); evalData = try c.decodeIfPresent(String.self, forKey: .evalData)
        try read(.evalFraction, &evalFraction); try read(.output, &output); try read(.steps, &steps)
        try read(.batchSize, &batchSize); try read(.gradientAccumulation, &gradientAccumulation); try read(.maxLength, &maxLength)
        try read(.learningRate, &learningRate); try read(.schedule, &schedule); try read(.warmupSteps, &warmupSteps)
        try read(.weightDecay, &weightDecay); try read(.beta1, &beta1); try read(.beta2, &beta2); try read(.epsilon, &epsilon)
        try read(.maxGradNorm, &maxGradNorm); try read(.loraRank, &loraRank); try read(.loraAlpha, &loraAlpha)
        try read(.loraDropout, &loraDropout); try read(.loraRSLoRA, &loraRSLoRA); try read(.loraTargets, &loraTargets)
        try read(.seed, &seed); try read(.evalEvery, &evalEvery); try read(.saveEvery, &saveEvery)
        try read(.keepCheckpoints, &keepCheckpoints); try read(.threads, &threads)
    }

    /// The resolved configuration as YAML.
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    /// Checks ranges; throws naming the field.
    public func validate() throws {
        func fail(_ reason: String) -> TrainingError { .badConfig(path: "config", reason: reason) }
        if model.isEmpty { throw fail("'model' is required") }
        if data.isEmpty { throw fail("'data' is required") }
        for (key, value) in [("steps", steps), ("batch_size", batchSize), ("gradient_accumulation", gradientAccumulation),
                             ("max_length", maxLength), ("threads", threads), ("keep_checkpoints", keepCheckpoints)] where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        if loraRank < 0 { throw fail("'lora_rank' must be ≥ 0") }
        if !(0..<1).contains(loraDropout) { throw fail("'lora_dropout' must be in [0, 1)") }
        if !(0..<1).contains(evalFraction) { throw fail("'eval_fraction' must be in [0, 1)") }
        for target in loraTargets where LoRAModule(rawValue: target) == nil {
            throw fail("unknown LoRA target '\(target)' (supported: \(LoRAModule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    /// The LoRA configuration, or nil for full fine-tuning.
    public var lora: LoRAConfig? {
        guard loraRank > 0 else { return nil }
        return LoRAConfig(rank: loraRank, alpha: loraAlpha, dropout: loraDropout, useRSLoRA: loraRSLoRA,
                          targetModules: loraTargets.compactMap(LoRAModule.init(rawValue:)))
    }
}

extension SFTConfig.CodingKeys {
    static var allKeys: [String] {
        ["model", "data", "eval_data", "eval_fraction", "output", "steps", "batch_size", "gradient_accumulation",
         "max_length", "learning_rate", "schedule", "warmup_steps", "weight_decay", "beta1", "beta2", "epsilon",
         "max_grad_norm", "lora_rank", "lora_alpha", "lora_dropout", "lora_rslora", "lora_targets", "seed",
         "eval_every", "save_every", "keep_checkpoints", "threads"]
    }
}

