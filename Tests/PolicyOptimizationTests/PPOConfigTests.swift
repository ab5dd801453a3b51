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
        #expect(sampled.responseIds.allSatisfy { $0.count == c.sampling.maxNewTokens },
                "\(sampled.responseIds.map(\.count))")
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

    /// A config.yaml the previous version wrote (flat, `rollout_weights`, `critique_tokens`, no rsLoRA or AdamW
    /// betas) reads as today's configuration, and a run it describes resumes under today's defaults; the old and
    /// the new name of one setting together are refused.
    @Test func aRunSavedBeforeTheGroupsResumes() throws {
        let directory = NSTemporaryDirectory() + "ppo-old-config-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let old = """
            model: m
            prompts: p.jsonl
            eval_limit: 64
            eval_greedy: false
            eval_critique: true
            output: runs/ppo
            reward_mode: token
            reward: rm
            reward_model: rm-a
            reward_model_name: reward-model
            task: summarization
            critique_tokens: 200
            free_quotes: false
            scalar_score: sum
            steps: 100
            batch_size: 8
            mini_batch_size: 4
            ppo_epochs: 4
            temperature: 0.7
            top_p: 1.0
            top_k: 0
            max_new_tokens: 48
            min_new_tokens: 0
            learning_rate: 0.0001
            schedule: constant
            lora_rank: 16
            lora_alpha: 32.0
            lora_targets: [q_proj, k_proj, v_proj, o_proj]
            kl_estimator: k1
            kl_coef: 0.05
            gamma: 1.0
            lam: 0.95
            seed: 0
            threads: 2
            rollout_weights: bf16

            """
        try old.write(toFile: directory + "/config.yaml", atomically: true, encoding: .utf8)
        let read = try ConfigFile.decode(PPOConfig.self, yaml: old, source: "old")
        #expect(read.decoding.weights == .bf16 && read.critic.maxNewTokens == 200 && read.critic.model == "rm-a")
        var now = PPOConfig()
        now.model.path = "m"
        now.prompts = "p.jsonl"
        now.critic.model = "rm-a"
        now.critic.maxNewTokens = 200
        now.decoding.weights = .bf16
        try ModelFiles.checkResume(now, run: directory)
        now.critic.maxNewTokens = 256
        do {
            try ModelFiles.checkResume(now, run: directory)
            Issue.record("a resume with another critique budget was accepted")
        } catch {
            #expect("\(error)".contains("'critique_max_new_tokens' (the run has 200, now 256)"), "\(error)")
        }
        do {
            _ = try ConfigFile.decode(PPOConfig.self, yaml: old + "weights: fp32\n", source: "both.yaml")
            Issue.record("both names of one setting were accepted")
        } catch {
            #expect("\(error)".contains("both.yaml") && "\(error)".contains("'weights' appears twice"), "\(error)")
        }
        do {
            _ = try ConfigFile.decode(PPOConfig.self, yaml: "lora_rank: many\n", source: "typed.yaml")
            Issue.record("a word for a number was accepted")
        } catch {
            #expect("\(error)".contains("typed.yaml") && "\(error)".contains("'lora_rank'"), "\(error)")
        }
    }
}
