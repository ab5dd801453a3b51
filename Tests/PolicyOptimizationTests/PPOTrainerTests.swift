import Foundation
import Testing
import Training
@testable import PolicyOptimization
@testable import RewardModel

/// The PPO trainer end to end on the tiny chat fixture, with a deterministic critic that praises the first word
/// of each response and blames the last: both modes run, log TRL's keys, write samples, and resume exactly.
@Suite(.serialized) struct PPOTrainerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// A critic that needs no model: good = the first word, poor = the last word of the response.
    static func critic() throws -> Critic {
        let format = try RewardModelFormat.builtin("summarization")
        return Critic(backend: .function({ pair in
            let words = pair.response.split(whereSeparator: \.isWhitespace).map(String.init)
            let good = words.first.map { [$0] } ?? [], poor = words.count > 1 ? [words.last!] : []
            return format.answer(critique: "The first word helps, the last one hurts.",
                                 quotes: ["good_spans": good, "poor_spans": poor])
        }, name: "rule"), format: format)
    }

    static func config(_ directory: String, run: String, mode: RewardMode) throws -> PPOConfig {
        let prompts = directory + "/prompts.jsonl"
        if !FileManager.default.fileExists(atPath: prompts) {
            let lines = (0..<6).map { "{\"id\": \"p\($0)\", \"prompt\": \"Summarise: Mia \($0) moved to Lisbon with Pico.\"}" }
            try lines.joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        }
        var c = PPOConfig()
        c.model.path = root.appendingPathComponent("models/chat-smollm").path
        c.prompts = prompts
        c.evalPrompts = prompts
        c.evalLimit = 2
        c.loop.output = directory + "/" + run
        c.rewardMode = mode
        c.loop.steps = 4
        c.loop.batchSize = 4
        c.miniBatchSize = 2
        c.ppoEpochs = 2
        c.sampling.maxNewTokens = 8
        c.lora.rank = 4
        c.lora.targets = ["q_proj", "v_proj"]
        c.optimizer.learningRate = 5e-3
        c.klTarget = 1
        c.loop.saveEvery = 2
        c.loop.evalEvery = 2
        c.loop.seed = 3
        return c
    }

    @Test func bothModesRunLogAndResumeExactly() throws {
        let directory = NSTemporaryDirectory() + "ppo-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let format = try RewardModelFormat.builtin("summarization")

        let straightConfig = try Self.config(directory, run: "token", mode: .token)
        let straight = try PolicyTrainer(config: straightConfig, critic: try Self.critic(), format: format).run()
        #expect(straight.count == 4)
        let first = straight[0].metrics
        for key in ["objective/kl", "objective/entropy", "objective/scores", "objective/rlhf_reward", "policy/approxkl_avg",
                    "policy/clipfrac_avg", "loss/policy_avg", "loss/value_avg", "val/clipfrac_avg", "val/ratio",
                    "returns/mean", "advantages/mean", "kl_coef", "lr", "span/pos_frac", "span/neg_frac",
                    "span/unmatched_rate", "rm/parse_failures", "time/rollout", "time/score", "time/optimize",
                    "time/reference"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        #expect(first["time/reference"]! > 0 && first["time/reference"]! < first["time/rewards"]!,
                "the reference's share of the rewards phase")
        #expect(first["rm/parse_failures"] == 0 && first["span/pos_frac"]! > 0 && first["span/neg_frac"]! > 0)
        #expect(straight[1].metrics["eval/score"] != nil, "evaluated at step 2")
        // The adaptive controller moved β from its start.
        #expect(straight[3].metrics["kl_coef"] != PPOConfig().klCoef)
        let lines = try String(contentsOfFile: straightConfig.loop.output + "/samples.jsonl", encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let samples = lines.filter { $0["split"] == nil }
        #expect(samples.count == 4 * straightConfig.samplesPerStep)
        // Held-out evaluation before the first step, at step 2 and at the end, each logging the first held-out prompt.
        let evaluations = lines.filter { $0["split"] as? String == "eval" }
        #expect(evaluations.map { $0["step"] as! Int } == [0, 2, 4])
        #expect(Set(evaluations.map { $0["id"] as! String }).count == 1)
        let logged = try MetricsLog.records(path: straightConfig.loop.output + "/metrics.jsonl")
        #expect(logged[0]?["eval/score"] != nil && logged[0]?["loss/policy_avg"] == nil, "step 0 holds the evaluation alone")
        let sample = samples[0]
        let tokens = sample["tokens"] as! [[String: Any]]
        #expect(tokens.map { $0["text"] as! String }.joined() == sample["response"] as! String)
        #expect(sample["critique"] as? String == "The first word helps, the last one hurts.")

        // Stopped after step 3 (the step-2 checkpoint is the newest), resumed: the same numbers as the straight run.
        let resumedConfig = try Self.config(directory, run: "resumed", mode: .token)
        try PolicyTrainer(config: resumedConfig, critic: try Self.critic(), format: format).run(until: 3)
        #expect(Checkpoint.steps(in: resumedConfig.loop.output) == [2])
        let rest = try PolicyTrainer(config: resumedConfig, critic: try Self.critic(), format: format, resume: true).run()
        #expect(rest.map(\.step) == [3, 4])
        let a = try MetricsLog.records(path: straightConfig.loop.output + "/metrics.jsonl")
        let b = try MetricsLog.records(path: resumedConfig.loop.output + "/metrics.jsonl")
        for step in 1...4 {
            for key in ["objective/scores", "objective/kl", "loss/policy_avg", "loss/value_avg", "kl_coef"] {
                #expect(a[step]?[key] == b[step]?[key], "step \(step) \(key): \(a[step]?[key] ?? .nan) vs \(b[step]?[key] ?? .nan)")
            }
        }

        // Scalar mode sees the same critiques and has the same return (the sum of the token scores), all of it on the
        // last token.
        let scalarConfig = try Self.config(directory, run: "scalar", mode: .scalar)
        let scalar = try PolicyTrainer(config: scalarConfig, critic: try Self.critic(), format: format).run(until: 1)
        #expect(scalar[0].metrics["objective/scores"] == first["objective/scores"], "same rollouts, same critiques")
        #expect(scalar[0].metrics["objective/token_scores"] == first["objective/token_scores"], "the same return")
        #expect(scalar[0].metrics["loss/policy_avg"] != first["loss/policy_avg"], "placed elsewhere")
        let placed = try String(contentsOfFile: scalarConfig.loop.output + "/samples.jsonl", encoding: .utf8)
            .split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.filter { $0["split"] == nil }
        for line in placed {
            let scores = (line["tokens"] as! [[String: Any]]).map { $0["score"] as! Double }
            #expect(scores.dropLast().allSatisfy { $0 == 0 } && scores.last == line["sequence_score"] as? Double)
        }
    }
}
