import ArgumentParser
import PolicyOptimization
import RewardModel

/// The built-in task's rule-based teacher as a reward source, and its fact-accuracy metric.
enum BuiltinTeacherSource {
    static func critic(format: RewardModelFormat) throws -> Critic {
        throw ValidationError("--reward builtin: the built-in task is not part of this build yet")
    }

    static let taskMetric: ((PolicyPrompt, String) -> Double?)? = nil
}
