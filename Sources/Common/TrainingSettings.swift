/// LoRA adapters on the trained model (`lora_rank: 0` trains every weight instead).
public struct LoRASettings: SettingsGroup {
    /// The adapters' rank; 0 trains every parameter.
    public var rank = 16
    /// The update is scaled by alpha / rank (alpha / √rank with `rslora`).
    public var alpha = 32.0
    /// Dropout on the adapters' input.
    public var dropout = 0.0
    /// Scale by alpha / √rank (rsLoRA).
    public var rsLoRA = false
    /// The projections adapted (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).
    public var targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
    /// The products with the frozen base (the policy's passes and the reference's in PPO): fp32, or bf16
    /// (operands rounded to bf16, fp32 sums; twice the multiply rate on CPUs with AVX-512 BF16).
    public var basePrecision = BasePrecision.fp32

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case rank = "lora_rank", alpha = "lora_alpha", dropout = "lora_dropout", rsLoRA = "lora_rslora"
        case targets = "lora_targets", basePrecision = "base_precision"
    }

    public init() {}

    /// Ranges; `known` are the projection names a target may be.
    public func validate(known: [String], _ fail: (String) -> Error) throws {
        if rank < 0 { throw fail("'lora_rank' must be ≥ 0, got \(rank)") }
        if rank == 0 && basePrecision != .fp32 {
            throw fail("'base_precision: \(basePrecision.rawValue)' is for a frozen base: it needs 'lora_rank' > 0")
        }
        if !(alpha.isFinite && alpha >= 0) { throw fail("'lora_alpha' must be a finite number ≥ 0, got \(alpha)") }
        if !(0..<1).contains(dropout) { throw fail("'lora_dropout' must be in [0, 1), got \(dropout)") }
        for target in targets where !known.contains(target) {
            throw fail("unknown LoRA target '\(target)' (supported: \(known.joined(separator: ", ")))")
        }
    }
}

/// The precision of the products with a frozen base under LoRA (the engine's `ProductPrecision`).
public enum BasePrecision: String, Codable, Sendable, CaseIterable {
    case fp32, bf16
}

/// AdamW and gradient clipping.
public struct OptimizerSettings: SettingsGroup {
    /// The peak learning rate.
    public var learningRate = 2e-4
    /// Decoupled weight decay, on matrices only.
    public var weightDecay = 0.0
    /// AdamW's β₁, β₂ and ε.
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    /// Global-norm gradient clipping over every trained group; 0 turns it off.
    public var maxGradNorm = 1.0

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case learningRate = "learning_rate", weightDecay = "weight_decay", beta1, beta2, epsilon
        case maxGradNorm = "max_grad_norm"
    }

    public init() {}

    public func validate(_ fail: (String) -> Error) throws {
        if !(learningRate.isFinite && learningRate >= 0) { throw fail("'learning_rate' must be a finite number ≥ 0") }
        if !(weightDecay.isFinite && weightDecay >= 0) { throw fail("'weight_decay' must be ≥ 0") }
        if !(0..<1).contains(beta1) || !(0..<1).contains(beta2) { throw fail("'beta1' and 'beta2' must be in [0, 1)") }
        if !(epsilon.isFinite && epsilon > 0) { throw fail("'epsilon' must be positive") }
        if !(maxGradNorm.isFinite && maxGradNorm >= 0) { throw fail("'max_grad_norm' must be ≥ 0") }
    }
}

/// The learning-rate schedule after the warmup.
public enum ScheduleKind: String, Sendable, Codable, CaseIterable {
    case constant, linear, cosine
}

/// The training loop: how long, in what batches, on what schedule, where it writes and what it keeps.
public struct TrainingLoopSettings: SettingsGroup {
    /// The run directory: config.yaml, metrics.jsonl, checkpoints/step-N/.
    public var output = "runs/sft"
    /// Optimizer steps.
    public var steps = 100
    /// Sequences (SFT) or rollouts (PPO) per step.
    public var batchSize = 4
    /// The learning rate's decay after the warmup.
    public var schedule = ScheduleKind.cosine
    /// Linear warmup steps.
    public var warmupSteps = 0
    /// Steps between held-out evaluations (0: only at the end).
    public var evalEvery = 0
    /// Steps between checkpoints (0: only at the end).
    public var saveEvery = 0
    /// Checkpoints kept (older ones are deleted).
    public var keepCheckpoints = 2
    /// Seeds the adapter's initialisation, the data order, the held-out split, dropout and sampling.
    public var seed: UInt64 = 0

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case output, steps, batchSize = "batch_size", schedule, warmupSteps = "warmup_steps"
        case evalEvery = "eval_every", saveEvery = "save_every", keepCheckpoints = "keep_checkpoints", seed
    }

    public init() {}

    public func validate(_ fail: (String) -> Error) throws {
        if output.isEmpty { throw fail("'output' is required") }
        for (key, value) in [("steps", steps), ("batch_size", batchSize), ("keep_checkpoints", keepCheckpoints)]
        where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        for (key, value) in [("warmup_steps", warmupSteps), ("eval_every", evalEvery), ("save_every", saveEvery)]
        where value < 0 {
            throw fail("'\(key)' must be ≥ 0, got \(value)")
        }
    }
}
