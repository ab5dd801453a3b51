import Common
import Foundation
import Models
import Tensor

/// Everything an SFT run needs (`text2grad sft`): defaults, then YAML (snake_case keys), then flags; saved
/// resolved as `config.yaml` in the run directory (see `RunConfiguration`).
public struct SFTConfig: RunConfiguration, Equatable {
    /// A Hugging Face model directory (config.json, safetensors, tokenizer.json for text data).
    public var model: String = ""
    /// Training JSONL: {"prompt", "completion"} text pairs, {"messages": [...]} chats, or {"prompt_ids", "target_ids"}.
    public var data: String = ""
    /// Held-out JSONL; when absent, `evalFraction` of the training data is held out.
    public var evalData: String?
    /// The fraction of `data` held out when there is no `evalData`.
    public var evalFraction: Double = 0.1
    /// The run directory: metrics.jsonl, config.yaml, checkpoints/step-N/.
    public var output: String = "runs/sft"
    /// Optimizer steps (each `gradientAccumulation` micro-batches of `batchSize` sequences).
    public var steps: Int = 100
    /// Sequences per micro-batch.
    public var batchSize: Int = 4
    /// Micro-batches per optimizer step.
    public var gradientAccumulation: Int = 1
    /// Tokens per example; longer examples are cut at the end.
    public var maxLength: Int = 512
    /// The peak learning rate.
    public var learningRate: Double = 2e-4
    /// constant, linear or cosine decay after the warmup.
    public var schedule: LearningRateSchedule.Kind = .cosine
    /// Linear warmup steps.
    public var warmupSteps: Int = 0
    /// AdamW weight decay, on matrices only.
    public var weightDecay: Double = 0.0
    /// AdamW's β₁, β₂ and ε.
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    /// Global-norm gradient clipping; 0 turns it off.
    public var maxGradNorm: Double = 1.0
    /// LoRA rank; 0 trains every parameter.
    public var loraRank: Int = 16
    /// LoRA's alpha (the update is scaled by alpha / rank).
    public var loraAlpha: Double = 32
    /// Dropout on the LoRA input.
    public var loraDropout: Double = 0.0
    /// Scale by alpha / √rank (rsLoRA).
    public var loraRSLoRA: Bool = false
    /// The projections LoRA adapts.
    public var loraTargets: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    /// The products with the frozen base under LoRA: fp32, or bf16 (operands rounded to bf16, fp32 sums; twice the
    /// multiply rate on CPUs with AVX-512 BF16).
    public var basePrecision: ProductPrecision = .fp32
    /// Seeds the adapter's initialisation, the data order, the held-out split and dropout.
    public var seed: UInt64 = 0
    /// Steps between held-out evaluations (0: only at the end).
    public var evalEvery: Int = 0
    /// Steps between checkpoints (0: only at the end).
    public var saveEvery: Int = 0
    /// Checkpoints kept (older ones are deleted).
    public var keepCheckpoints: Int = 2
    /// Engine threads.
    public var threads: Int = Compute.defaultThreadCount

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case model, data, evalData = "eval_data", evalFraction = "eval_fraction", output, steps
        case batchSize = "batch_size", gradientAccumulation = "gradient_accumulation", maxLength = "max_length"
        case learningRate = "learning_rate", schedule, warmupSteps = "warmup_steps", weightDecay = "weight_decay"
        case beta1, beta2, epsilon, maxGradNorm = "max_grad_norm"
        case loraRank = "lora_rank", loraAlpha = "lora_alpha", loraDropout = "lora_dropout", loraRSLoRA = "lora_rslora"
        case loraTargets = "lora_targets", basePrecision = "base_precision", seed, evalEvery = "eval_every"
        case saveEvery = "save_every"
        case keepCheckpoints = "keep_checkpoints", threads
    }

    /// Every field at its default.
    public init() {}

    /// Reads a YAML file over the defaults (not validated); an unknown key is an error.
    public static func load(yaml path: String) throws -> SFTConfig {
        let text: String
        do {
            text = try InputFile.text(path: path)
        } catch FileError.io(_, let detail) {
            throw TrainingError.badConfig(path: path, reason: detail)
        }
        do {
            return try ConfigFile.decode(SFTConfig.self, yaml: text, source: path)
        } catch let FileError.badConfig(_, detail) {
            throw TrainingError.badConfig(path: path, reason: detail)
        }
    }

    /// The resolved configuration as YAML.
    public func yaml() throws -> String { try ConfigFile.yaml(self) }

    /// Checks ranges; throws naming the field.
    public func validate() throws {
        func fail(_ reason: String) -> TrainingError { .badConfig(path: "config", reason: reason) }
        if model.isEmpty { throw fail("'model' is required") }
        if data.isEmpty { throw fail("'data' is required") }
        for (key, value) in [("steps", steps), ("batch_size", batchSize), ("gradient_accumulation", gradientAccumulation),
                             ("max_length", maxLength), ("threads", threads), ("keep_checkpoints", keepCheckpoints)] where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        if !(0..<1).contains(evalFraction) { throw fail("'eval_fraction' must be in [0, 1)") }
        try TrainingSettings.validate(learningRate: learningRate, warmupSteps: warmupSteps, weightDecay: weightDecay,
                                      maxGradNorm: maxGradNorm, evalEvery: evalEvery, saveEvery: saveEvery, fail: fail)
        try TrainingSettings.validateLoRA(rank: loraRank, dropout: loraDropout, targets: loraTargets,
                                          basePrecision: basePrecision, fail: fail)
    }

    /// The LoRA configuration, or nil for full fine-tuning.
    public var lora: LoRAConfig? {
        TrainingSettings.lora(rank: loraRank, alpha: loraAlpha, dropout: loraDropout, rsLoRA: loraRSLoRA, targets: loraTargets)
    }

    /// AdamW's settings.
    public var adamw: AdamWConfig {
        AdamWConfig(beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(epsilon), weightDecay: Float(weightDecay))
    }

    /// The loop's settings.
    public var loop: LoopSettings {
        LoopSettings(output: output, steps: steps,
                     schedule: LearningRateSchedule(kind: schedule, peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps),
                     maxGradNorm: maxGradNorm, evalEvery: evalEvery, saveEvery: saveEvery, keepCheckpoints: keepCheckpoints)
    }
}

/// Checks and conversions every training configuration shares.
public enum TrainingSettings {
    /// Optimizer and schedule ranges.
    public static func validate(
        learningRate: Double, warmupSteps: Int, weightDecay: Double, maxGradNorm: Double, evalEvery: Int, saveEvery: Int,
        fail: (String) -> Error
    ) throws {
        if !(learningRate.isFinite && learningRate >= 0) { throw fail("'learning_rate' must be a finite number ≥ 0") }
        if warmupSteps < 0 { throw fail("'warmup_steps' must be ≥ 0") }
        if !(weightDecay.isFinite && weightDecay >= 0) { throw fail("'weight_decay' must be ≥ 0") }
        if !(maxGradNorm.isFinite && maxGradNorm >= 0) { throw fail("'max_grad_norm' must be ≥ 0") }
        if evalEvery < 0 { throw fail("'eval_every' must be ≥ 0") }
        if saveEvery < 0 { throw fail("'save_every' must be ≥ 0") }
    }

    /// LoRA ranges and target names.
    public static func validateLoRA(
        rank: Int, dropout: Double, targets: [String], basePrecision: ProductPrecision, fail: (String) -> Error
    ) throws {
        if rank < 0 { throw fail("'lora_rank' must be ≥ 0") }
        if rank == 0 && basePrecision != .fp32 {
            throw fail("'base_precision: \(basePrecision.rawValue)' is for a frozen base: it needs 'lora_rank' > 0")
        }
        if !(0..<1).contains(dropout) { throw fail("'lora_dropout' must be in [0, 1)") }
        for target in targets where LoRAModule(rawValue: target) == nil {
            throw fail("unknown LoRA target '\(target)' (supported: \(LoRAModule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    /// The LoRA configuration, or nil for rank 0 (every parameter trains).
    public static func lora(rank: Int, alpha: Double, dropout: Double, rsLoRA: Bool, targets: [String]) -> LoRAConfig? {
        guard rank > 0 else { return nil }
        return LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, useRSLoRA: rsLoRA,
                          targetModules: targets.compactMap(LoRAModule.init(rawValue:)))
    }
}
