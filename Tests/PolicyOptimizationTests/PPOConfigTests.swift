import Foundation
import Testing
import Training
@testable import PolicyOptimization

/// `min_new_tokens`: validated against `max_new_tokens`, and rollouts never end before it (greedy evaluation may).
@Suite(.serialized) struct PPOConfigTests {
    @Test func minNewTokensIsValidatedAndHeldInRollouts() throws {
        let directory = NSTemporaryDirectory() + "ppo-min-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = try PPOTrainerTests.config(directory, run: "min", mode: .token)
        for bad in [-1, c.maxNewTokens + 1] {
            c.minNewTokens = bad
            do {
                try c.validate()
                Issue.record("min_new_tokens \(bad) was accepted")
            } catch {
                #expect(error is TrainingError && "\(error)".contains("min_new_tokens"), "\(error)")
            }
        }
        c.minNewTokens = c.maxNewTokens
        let trainer = try PolicyTrainer(config: c, critic: try PPOTrainerTests.critic(), format: try .builtin("summarization"))
        let prompts = Array(trainer.objective.prompts.prefix(4))
        let sampled = try trainer.objective.rollout(prompts, seed: 11, greedy: false)
        #expect(sampled.responseIds.allSatisfy { $0.count == c.maxNewTokens }, "\(sampled.responseIds.map(\.count))")
    }
}
