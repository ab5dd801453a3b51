import Common
import Models
import Tensor

extension LoRASettings {
    /// Ranges, and targets among the projections the model has.
    public func validate(_ fail: (String) -> Error) throws {
        try validate(known: LoRAModule.allCases.map(\.rawValue), fail)
    }

    /// The adapters' configuration, or nil for rank 0 (every parameter trains).
    public var config: LoRAConfig? {
        guard rank > 0 else { return nil }
        return LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, useRSLoRA: rsLoRA,
                          targetModules: targets.compactMap(LoRAModule.init(rawValue:)))
    }

    /// The engine's precision of the products with the frozen base.
    public var productPrecision: ProductPrecision {
        switch basePrecision {
        case .fp32: return .fp32
        case .bf16: return .bf16
        }
    }
}

extension OptimizerSettings {
    /// AdamW's settings.
    public var adamw: AdamWConfig {
        AdamWConfig(beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(epsilon), weightDecay: Float(weightDecay))
    }
}

extension TrainingLoopSettings {
    /// The loop's settings, with the optimizer's peak learning rate and clipping.
    public func settings(_ optimizer: OptimizerSettings) -> LoopSettings {
        LoopSettings(output: output, steps: steps,
                     schedule: LearningRateSchedule(kind: schedule, peak: optimizer.learningRate,
                                                    warmupSteps: warmupSteps, totalSteps: steps),
                     maxGradNorm: optimizer.maxGradNorm, evalEvery: evalEvery, saveEvery: saveEvery,
                     keepCheckpoints: keepCheckpoints)
    }
}
