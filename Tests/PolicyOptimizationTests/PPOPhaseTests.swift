import Foundation
import Models
import Testing
import Tokenizers
import Training
@testable import PolicyOptimization
@testable import RewardModel

/// Each phase of a PPO step alone, on the tiny chat fixture, against numbers worked out by hand: the token layout
/// of rollouts, span scores on their tokens, the rewards of both modes, GAE and whitening, and one update.
@Suite(.serialized) struct PPOPhaseTests {
    static let summary = "Mia moved to Lisbon."

    /// A critic keyed by the pair's id: "good" quotes "Mia" as good and "Lisbon" as poor, anything else answers
    /// text that is not JSON.
    static func critic(_ format: RewardModelFormat) -> Critic {
        Critic(backend: .function({ pair in
            pair.id == "good"
                ? format.answer(critique: "Names the person.",
                                quotes: ["good_spans": ["Mia"], "poor_spans": ["Lisbon"]])
                : "I have no opinion."
        }, name: "rule"), format: format)
    }

    /// A PPO objective over the chat fixture with a LoRA adapter (so the reference is the adapter switched off).
    static func objective(_ adjust: (inout PPOConfig) -> Void = { _ in }) throws -> PPOObjective {
        var c = PPOConfig()
        c.model.path = PPOTrainerTests.root.appendingPathComponent("models/chat-smollm").path
        c.sampling.maxNewTokens = 6
        c.lora.rank = 4
        c.lora.targets = ["q_proj", "v_proj"]
        c.loop.batchSize = 2
        c.miniBatchSize = 2
        c.ppoEpochs = 1
        adjust(&c)
        let (model, loaded) = try ModelFiles.load(directory: c.model.path, threads: c.model.threads)
        let tokenizer = try #require(loaded)
        let trainable = TrainableModel(model: model, directory: c.model.path, lora: c.lora.config,
                                       adamw: c.optimizer.adamw, seed: c.loop.seed,
                                       valueHeadRate: c.valueLearningRateScale)
        let prompts = try ["good", "bad"].map { id in
            let text = "Summarise: Mia moved to Lisbon with her cat."
            let ids = try tokenizer.chatPromptIds([ChatMessage(role: "user", content: text)])
            return PolicyPrompt(id: id, text: text, ids: ids, fields: [:])
        }
        let format = try RewardModelFormat.builtin("summarization")
        return PPOObjective(config: c, trainable: trainable, tokenizer: tokenizer, critic: critic(format),
                            format: format, prompts: prompts, evalPrompts: [], frozenReference: nil)
    }

    /// Rollouts of chosen responses: row 0 the summary and an end-of-sequence token, row 1 the summary cut short.
    static func chosen(_ objective: PPOObjective) throws -> (rollouts: Rollouts, eos: Int) {
        let tokenizer = objective.tokenizer
        let eos = try #require(tokenizer.eosTokenIds.first)
        let ids = tokenizer.encodeIds(summary, addSpecialTokens: false)
        let rollouts = Rollouts(prompts: objective.prompts, responseIds: [ids + [eos], Array(ids.prefix(2))],
                                tokenizer: tokenizer, endOfSequence: [eos])
        return (rollouts, eos)
    }

    // MARK: Rollout

    @Test func sequenceBatchPutsEachResponseAfterItsPrompt() {
        // Row 0: prompt 1 2 3, response 5 6; row 1: prompt 4, response 7 8 9. T = 5.
        // The position predicting response token j of a row with P prompt tokens is P + j − 1.
        let s = SequenceBatch(prompts: [[1, 2, 3], [4]], responses: [[5, 6], [7, 8, 9]], padId: 0)
        #expect(s.batch.batchSize == 2 && s.batch.length == 5)
        #expect(s.batch.ids == [1, 2, 3, 5, 6, 4, 7, 8, 9, 0])
        #expect(s.targets == [-1, -1, 5, 6, -1, 7, 8, 9, -1, -1])
        #expect(s.flat == [[2, 3], [5, 6, 7]])
        let positions = (0..<10).map { Float($0) }
        let perToken = s.gather(positions, length: 3)
        #expect(perToken == [2, 3, 0, 5, 6, 7])
        #expect(s.scatter(perToken, length: 3) == [0, 0, 2, 3, 0, 5, 6, 7, 0, 0])
    }

    @Test func rolloutsMaskLengthsAndEndOfSequence() throws {
        let objective = try Self.objective()
        let (rollouts, eos) = try Self.chosen(objective)
        let n = rollouts.responseIds[0].count
        #expect(rollouts.length == n)
        #expect(rollouts.mask == [Float](repeating: 1, count: n) + [1, 1] + [Float](repeating: 0, count: n - 2))
        #expect(rollouts.endedWithEOS == [true, false])
        // The text leaves the end-of-sequence token out; its characters are an empty range at the end.
        #expect(rollouts.responses[0] == Self.summary)
        #expect(rollouts.offsets[0].last == Self.summary.unicodeScalars.count..<Self.summary.unicodeScalars.count)
        #expect(rollouts.responseIds[0].last == eos)
        for b in 0..<2 {
            let scalars = Array(rollouts.responses[b].unicodeScalars)
            let pieces = rollouts.offsets[b].map { String(String.UnicodeScalarView(scalars[$0])) }
            #expect(pieces.joined() == rollouts.responses[b])
        }
    }

    @Test func rolloutPhaseSamplesWithinTheLimits() throws {
        let objective = try Self.objective()
        let rollouts = try objective.rollout(objective.prompts, seed: 1, greedy: true)
        #expect(rollouts.count == 2)
        for b in 0..<2 {
            let ids = rollouts.responseIds[b]
            #expect(!ids.isEmpty && ids.count <= 6)
            let row = rollouts.mask[(b * rollouts.length)..<((b + 1) * rollouts.length)]
            #expect(row.reduce(0, +) == Float(ids.count))
            #expect(row.prefix(ids.count).allSatisfy { $0 == 1 })
            // A response ends early only on an end-of-sequence token, and nothing follows it.
            let ended = objective.endOfSequence.contains(ids.last!)
            #expect(rollouts.endedWithEOS[b] == ended)
            #expect(ended || ids.count == 6)
            #expect(ids.dropLast().allSatisfy { !objective.endOfSequence.contains($0) })
        }
        #expect(rollouts.length == rollouts.responseIds.map(\.count).max())
        // Greedy decoding ignores the seed.
        #expect(try objective.rollout(objective.prompts, seed: 2, greedy: true).responseIds == rollouts.responseIds)
    }

    // MARK: Score

    @Test func scorePhasePutsSpanScoresOnTheSpansTokens() throws {
        let objective = try Self.objective { $0.unparsedScore = -0.5 }
        let (rollouts, _) = try Self.chosen(objective)
        let scores = try objective.score(rollouts)
        #expect(scores.quoted == 2 && scores.unmatched == 0 && scores.unparsed == 1)
        // "Mia" is scalars 0..<3 (good, +1), "Lisbon" 13..<19 (poor, −1); a token takes the score of a span it
        // overlaps, and " moved", " to", "." and the end-of-sequence token none.
        let L = rollouts.length
        var expected = [Float]()
        for range in rollouts.offsets[0] {
            expected.append(range.overlaps(0..<3) ? 1 : range.overlaps(13..<19) ? -1 : 0)
        }
        #expect(Array(scores.tokenScores[0..<L]) == expected)
        #expect(expected.contains(1) && expected.contains(-1) && expected.contains(0))
        // The default scalar rule sums the token scores.
        #expect(scores.sequenceScores[0] == Double(expected.reduce(0, +)))
        // The critique of row 1 did not parse: neutral token scores and `unparsed_score` as its sequence score.
        #expect(scores.tokenScores[L..<(2 * L)].allSatisfy { $0 == 0 })
        #expect(scores.sequenceScores[1] == -0.5)
        guard case let .failure(id, raw, _) = scores.critiques[1] else {
            Issue.record("row 1 parsed")
            return
        }
        #expect(id == "bad" && raw == "I have no opinion.")
    }

    // MARK: Rewards

    @Test func tokenRewardsAreSpanScoresMinusTheKLPenalty() throws {
        let objective = try Self.objective {
            $0.klCoef = 0.1
            $0.unparsedScore = -0.5
            $0.missingEOSPenalty = 0.25
        }
        let (rollouts, _) = try Self.chosen(objective)
        let L = rollouts.length, n1 = rollouts.responseIds[1].count
        var scores = try objective.score(rollouts)
        scores.tokenScores = (0..<(2 * L)).map { i in rollouts.mask[i] > 0 ? Float(i % 3) - 1 : 0 }
        let r = try objective.rewards(rollouts, scores: scores)
        // Row 0 ended and parsed: s = its token scores. Row 1's critique did not parse (−0.5 on its last token) and
        // it has no end-of-sequence token (−0.25 more there).
        var s = scores.tokenScores
        s[L + n1 - 1] += -0.5 - 0.25
        #expect(r.scores == s)
        for i in 0..<(2 * L) {
            if rollouts.mask[i] > 0 {
                #expect(r.kl[i] == r.oldLogProbabilities[i] - r.referenceLogProbabilities[i], "k1 at \(i)")
                #expect(abs(r.rewards[i] - (s[i] - 0.1 * r.kl[i])) < 1e-6, "reward at \(i)")
                #expect(r.oldLogProbabilities[i] < 0)
                // A fresh adapter adds nothing (its B is 0): the policy is still the reference.
                #expect(abs(r.kl[i]) < 1e-4)
            } else {
                #expect(r.kl[i] == 0 && r.rewards[i] == 0 && r.scores[i] == 0, "padding at \(i)")
            }
        }
        let rowKL = (0..<2).map { b in (0..<L).reduce(0.0) { $0 + Double(r.kl[b * L + $1]) } }
        #expect(abs(r.meanSequenceKL - (rowKL[0] + rowKL[1]) / 2) < 1e-9)
    }

    @Test func scalarRewardsPutTheSequenceScoreOnTheLastToken() throws {
        let objective = try Self.objective {
            $0.rewardMode = .scalar
            $0.klCoef = 0
            $0.missingEOSPenalty = 0.25
        }
        let (rollouts, _) = try Self.chosen(objective)
        let L = rollouts.length, n0 = rollouts.responseIds[0].count, n1 = rollouts.responseIds[1].count
        var scores = try objective.score(rollouts)
        scores.sequenceScores = [2, 3]
        let r = try objective.rewards(rollouts, scores: scores)
        var expected = [Float](repeating: 0, count: 2 * L)
        expected[n0 - 1] = 2
        expected[L + n1 - 1] = 3 - 0.25
        #expect(r.scores == expected)
        // β = 0: the rewards are the scores.
        #expect(r.rewards == expected)
    }

    // MARK: Advantages

    /// Rewards of two rows (lengths 3 and 1) with the given per-token rewards and values.
    static func handRewards(_ rewards: [Float], values: [Float]) -> PPOObjective.Rewards {
        let zeros = [Float](repeating: 0, count: rewards.count)
        return PPOObjective.Rewards(oldLogProbabilities: zeros, referenceLogProbabilities: zeros, values: values,
                                    kl: zeros, scores: rewards, rewards: rewards, meanSequenceKL: 0)
    }

    @Test func advantagesAreGAEWithGammaAndLambdaThenWhitened() throws {
        // Row 0: r = [0, 0, 1], V = [0.5, 0.2, 0.4]; γ = 0.9, λ = 0.5 (γλ = 0.45).
        //   δ2 = 1 − 0.4 = 0.6                 A2 = 0.6
        //   δ1 = 0 + 0.9·0.4 − 0.2 = 0.16     A1 = 0.16 + 0.45·0.6 = 0.43
        //   δ0 = 0 + 0.9·0.2 − 0.5 = −0.32    A0 = −0.32 + 0.45·0.43 = −0.1265
        // Row 1 (one token): r = 0.35, V = 0: A = 0.35. Returns = A + V.
        let rewards = Self.handRewards([0, 0, 1, 0.35, 0, 0], values: [0.5, 0.2, 0.4, 0, 0, 0])
        let raw = try Self.objective {
            $0.gamma = 0.9
            $0.lam = 0.5
            $0.whitenAdvantages = false
        }
        let tokenizer = raw.tokenizer
        let rollouts = Rollouts(prompts: raw.prompts, responseIds: [[10, 11, 12], [13]], tokenizer: tokenizer,
                                endOfSequence: [])
        let a = raw.advantages(rollouts, rewards: rewards)
        let expectedA: [Float] = [-0.1265, 0.43, 0.6, 0.35, 0, 0]
        let expectedReturns: [Float] = [0.3735, 0.63, 1.0, 0.35, 0, 0]
        for i in 0..<6 {
            #expect(abs(a.advantages[i] - expectedA[i]) < 1e-6, "A[\(i)] = \(a.advantages[i])")
            #expect(abs(a.returns[i] - expectedReturns[i]) < 1e-6, "R[\(i)] = \(a.returns[i])")
        }
        // Whitened over the four real tokens, (A − mean) / √(var + 1e-8) with mean 1.2535 / 4 = 0.313375 and the
        // unbiased variance Σ(A − mean)² / 3; padding stays 0, and the returns are the unwhitened ones.
        let whitening = try Self.objective {
            $0.gamma = 0.9
            $0.lam = 0.5
        }
        let w = whitening.advantages(rollouts, rewards: rewards)
        let mean = 0.313375
        let variance = [-0.1265, 0.43, 0.6, 0.35].reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / 3
        for i in 0..<4 {
            let expected = (Double(expectedA[i]) - mean) / (variance + 1e-8).squareRoot()
            #expect(abs(Double(w.advantages[i]) - expected) < 1e-5, "whitened A[\(i)] = \(w.advantages[i])")
        }
        #expect(w.advantages[4] == 0 && w.advantages[5] == 0)
        #expect(w.returns == a.returns)
    }

    // MARK: Optimize

    @Test func oneUpdateLowersItsOwnMiniBatchsLosses() throws {
        let objective = try Self.objective()
        let rollouts = try objective.rollout(objective.prompts, seed: 1, greedy: true)
        let scores = try objective.score(rollouts)
        let rewards = try objective.rewards(rollouts, scores: scores)
        let advantages = objective.advantages(rollouts, rewards: rewards)
        let context = StepContext(step: 1, learningRate: 2e-3, reducer: LocalReducer(), trainable: objective.trainable,
                                  maxGradNorm: 1)
        var rng = SplitMix64(seed: 1)
        let stats = try objective.optimize(context, rollouts, rewards: rewards, advantages: advantages, rng: &rng)
        #expect(stats.policyLoss.count == 1 && stats.skipped == 0, "one mini-batch, one update")
        // Before the update every ratio is 1, so the policy loss is −mean A, 0 for whitened advantages, and the
        // value loss is ½·mean (V − R)².
        let mask = rollouts.mask, n = Double(mask.reduce(0, +))
        #expect(abs(stats.policyLoss[0]) < 1e-5)
        #expect(abs(stats.ratio[0] - 1) < 1e-5 && stats.clipFraction[0] == 0)
        var squares = 0.0
        for i in mask.indices where mask[i] > 0 {
            let error = Double(rewards.values[i]) - Double(advantages.returns[i])
            squares += error * error
        }
        let before = 0.5 * squares / n
        #expect(abs(stats.valueLoss[0] - before) < 1e-5)
        // After it, the same mini-batch's losses under the updated policy and value head are lower.
        let after = try objective.rewards(rollouts, scores: scores)
        let policy = ClippedPolicyLoss(logProbabilities: after.oldLogProbabilities, old: rewards.oldLogProbabilities,
                                       advantages: advantages.advantages, mask: mask, clip: objective.config.cliprange)
        let value = ClippedValueLoss(values: after.values, oldValues: rewards.values, returns: advantages.returns,
                                     mask: mask, clip: objective.config.cliprangeValue)
        #expect(policy.loss < stats.policyLoss[0], "policy loss \(stats.policyLoss[0]) → \(policy.loss)")
        #expect(value.loss < stats.valueLoss[0], "value loss \(stats.valueLoss[0]) → \(value.loss)")
    }

    @Test func clippingEngagesWhenTheRatioLeavesItsRange() throws {
        let objective = try Self.objective()
        let (rollouts, _) = try Self.chosen(objective)
        let scores = try objective.score(rollouts)
        var rewards = try objective.rewards(rollouts, scores: scores)
        // The old policy put 0.5 less log-probability on every token, so ρ = e^0.5 ≈ 1.6487 > 1 + ε = 1.2.
        // Row 0 has A = +1: −A·ρ < −A·1.2, the clipped term is the larger: clipped, loss −1.2 per token.
        // Row 1 has A = −1: A·ρ > 1.2, the unclipped term is the larger: not clipped, loss e^0.5 per token.
        let L = rollouts.length, mask = rollouts.mask
        rewards.oldLogProbabilities = zip(rewards.oldLogProbabilities, mask).map { $1 > 0 ? $0 - 0.5 : 0 }
        let a = (0..<(2 * L)).map { i in mask[i] == 0 ? Float(0) : i < L ? 1 : -1 }
        let advantages = PPOObjective.Advantages(advantages: a, returns: rewards.values)
        let context = StepContext(step: 1, learningRate: 1e-3, reducer: LocalReducer(), trainable: objective.trainable,
                                  maxGradNorm: 1)
        var rng = SplitMix64(seed: 1)
        let stats = try objective.optimize(context, rollouts, rewards: rewards, advantages: advantages, rng: &rng)
        let n0 = Double(rollouts.responseIds[0].count), n1 = Double(rollouts.responseIds[1].count)
        #expect(abs(stats.clipFraction[0] - n0 / (n0 + n1)) < 1e-12)
        #expect(abs(stats.policyLoss[0] - (-1.2 * n0 + exp(0.5) * n1) / (n0 + n1)) < 1e-3)
        #expect(abs(stats.ratio[0] - exp(0.5)) < 1e-3)
        #expect(abs(stats.approximateKL[0] - 0.125) < 1e-3, "½·0.5²")
        // Old values equal to the returns: the value loss is 0 and nothing is clipped.
        #expect(abs(stats.valueLoss[0]) < 1e-6 && stats.valueClipFraction[0] == 0)
    }
}
