import Foundation
import Testing
import Common
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
        for bad in [-1, c.sampling.maxNewTokens + 1] {
            c.sampling.minNewTokens = bad
            do {
                try c.validate()
                Issue.record("min_new_tokens \(bad) was accepted")
            } catch {
                #expect(error is TrainingError && "\(error)".contains("min_new_tokens"), "\(error)")
            }
        }
        c.sampling.minNewTokens = c.sampling.maxNewTokens
        let trainer = try PolicyTrainer(config: c, critic: try PPOTrainerTests.critic(), format: try .builtin("summarization"))
        let prompts = Array(trainer.objective.prompts.prefix(4))
        let sampled = try trainer.objective.rollout(prompts, seed: 11, greedy: false)
        #expect(sampled.responseIds.allSatisfy { $0.count == c.sampling.maxNewTokens }, "\(sampled.responseIds.map(\.count))")
    }

    /// A resumed run must be the run it resumes: another reward model, or any setting but the run's length,
    /// threads and logging, is refused naming the setting; the saved file reads back exactly.
    @Test func resumeWithAnotherCriticIsRefusedNamingIt() throws {
        let directory = NSTemporaryDirectory() + "ppo-resume-config-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = PPOConfig()
        c.model.path = "m"
        c.prompts = "p.jsonl"
        c.critic.model = "rm-a"
        c.optimizer.learningRate = 5e-4
        try ModelFiles.saveConfig(c, run: directory)
        let text = try String(contentsOfFile: directory + "/config.yaml", encoding: .utf8)
        #expect(text.contains("learning_rate: 0.0005\n") && text.contains("lora_alpha: 32.0\n"), "\(text)")
        #expect(try ConfigFile.decode(PPOConfig.self, yaml: text, source: "saved") == c, "reads back exactly")
        var longer = c
        longer.loop.steps += 50
        longer.model.threads = 3
        try ModelFiles.checkResume(longer, run: directory)
        var other = c
        other.critic.model = "rm-b"
        do {
            try ModelFiles.checkResume(other, run: directory)
            Issue.record("a resume with another reward model was accepted")
        } catch {
            #expect("\(error)".contains("'reward_model' (the run has rm-a, now rm-b)"), "\(error)")
        }
        other = c
        other.critic.model = nil
        #expect(throws: (any Error).self) { try ModelFiles.checkResume(other, run: directory) }
    }
}
