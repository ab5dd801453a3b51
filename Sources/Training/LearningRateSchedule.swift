import Common
import Foundation

/// The learning rate over steps: a linear warmup, then constant, linear decay to 0, or cosine decay to 0,
/// with the formulas of transformers' `get_{constant,linear,cosine}_schedule_with_warmup`.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    /// constant, linear or cosine (a setting of the training loop).
    public typealias Kind = ScheduleKind

    public var kind: Kind
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(kind: Kind, peak: Double, warmupSteps: Int, totalSteps: Int) {
        self.kind = kind
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The multiplier of `peak` at `step` (0-based: the rate used by the (step+1)-th update).
    public func factor(step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        switch kind {
        case .constant: return 1
        case .linear: return max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
        case .cosine: return max(0, 0.5 * (1 + cos(Double.pi * progress)))
        }
    }

    /// The learning rate at `step`.
    public func rate(step: Int) -> Double { peak * factor(step: step) }
}
