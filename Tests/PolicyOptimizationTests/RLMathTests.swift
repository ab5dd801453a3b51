import Foundation
@testable import Spans
import Testing
@testable import PolicyOptimization
@testable import RewardModel

/// The RL arithmetic on hand-computed cases.
@Suite struct RLMathTests {
    @Test func klEstimators() {
        let logp: [Float] = [-1, -2, -0.5], ref: [Float] = [-1.5, -2, -0.25]
        #expect(klPenalty(logProbabilities: logp, reference: ref, estimator: .k1) == [0.5, 0, -0.25])
        // k3 = e^{ref − logp} − 1 − (ref − logp): e^{−0.5} − 1 + 0.5 = 0.1065307; e^{0.25} − 1 − 0.25 = 0.0340254
        let k3 = klPenalty(logProbabilities: logp, reference: ref, estimator: .k3)
        #expect(abs(k3[0] - 0.1065307) < 1e-6 && k3[1] == 0 && abs(k3[2] - 0.0340254) < 1e-6)
        // full KL of softmax([0, ln 3]) = (1/4, 3/4) against uniform: 1/4 ln(1/2) + 3/4 ln(3/2) = 0.1308121
        let a: [Float] = [0, Float(log(3.0))], b: [Float] = [5, 5]
        #expect(abs(fullKL(policyLogits: a, referenceLogits: b, count: 2) - 0.1308121) < 1e-6)
    }

    @Test func adaptiveKLFollowsTRLsController() {
        var c = KLController(value: 0.2, target: 6, horizon: 10_000)
        c.update(kl: 9, samples: 100)  // error clipped to 0.2: β·(1 + 0.2·100/10000) = 0.2·1.002
        #expect(abs(c.value - 0.2004) < 1e-12)
        c.update(kl: 5.4, samples: 1000)  // error −0.1: ·(1 − 0.01)
        #expect(abs(c.value - 0.2004 * 0.99) < 1e-12)
        var fixed = KLController(value: 0.05)
        fixed.update(kl: 100, samples: 8)
        #expect(fixed.value == 0.05)
    }

    @Test func gaeOnTwoRowsWithPadding() {
        // Row 0: r = [0, 0, 1], V = [0.5, 0.2, 0.4]; γ = 1, λ = 0.5.
        // δ2 = 1 − 0.4 = 0.6; A2 = 0.6. δ1 = 0 + 0.4 − 0.2 = 0.2; A1 = 0.2 + 0.5·0.6 = 0.5.
        // δ0 = 0 + 0.2 − 0.5 = −0.3; A0 = −0.3 + 0.5·0.5 = −0.05.
        // Row 1 (one token, then padding): δ0 = 2 − 1 = 1 = A0.
        let (a, r) = generalizedAdvantages(
            rewards: [0, 0, 1, 2, 9, 9], values: [0.5, 0.2, 0.4, 1, 9, 9], mask: [1, 1, 1, 1, 0, 0], length: 3,
            gamma: 1, lambda: 0.5)
        let expectedA: [Float] = [-0.05, 0.5, 0.6, 1, 0, 0]
        for i in 0..<6 { #expect(abs(a[i] - expectedA[i]) < 1e-6, "A[\(i)] = \(a[i])") }
        #expect(abs(r[0] - 0.45) < 1e-6 && abs(r[3] - 2) < 1e-6 && r[4] == 0)
    }

    /// The paper's §3.6: with γ = 1, λ = 0.95 a reward on token k reaches the first token's advantage with weight
    /// 0.95^k (values 0), so a span reward 20 tokens before the end arrives with 0.95^20 of the weight a reward on
    /// the first token has, while a scalar at the end of a T-token response arrives only through 0.95^(T−1).
    @Test func creditReachesEarlierTokensThroughLambda() {
        let T = 40
        func firstAdvantage(rewardAt k: Int) -> Float {
            var rewards = [Float](repeating: 0, count: T)
            rewards[k] = 1
            return generalizedAdvantages(rewards: rewards, values: [Float](repeating: 0, count: T),
                                         mask: [Float](repeating: 1, count: T), length: T, gamma: 1, lambda: 0.95).advantages[0]
        }
        #expect(firstAdvantage(rewardAt: 0) == 1)
        #expect(abs(firstAdvantage(rewardAt: T - 20) - Float(pow(0.95, Double(T - 20)))) < 1e-6)
        #expect(abs(firstAdvantage(rewardAt: 20) - Float(pow(0.95, 20.0))) < 1e-6)
        let scalar = firstAdvantage(rewardAt: T - 1)
        #expect(abs(scalar - Float(pow(0.95, Double(T - 1)))) < 1e-6)
        #expect(firstAdvantage(rewardAt: 20) / scalar > 2.5, "a span reward mid-response outweighs the final scalar")
    }

    @Test func maskedWhiteningUsesTheUnbiasedVariance() {
        // Masked values 1, 2, 3: mean 2, unbiased variance 1 → whitened −1, 0, 1; the masked-out 10 is ignored.
        let w = maskedWhiten([1, 2, 3, 10], [1, 1, 1, 0])
        #expect(abs(w[0] + 1) < 1e-6 && abs(w[1]) < 1e-6 && abs(w[2] - 1) < 1e-6)
        #expect(abs(maskedVariance([1, 2, 3, 10], [1, 1, 1, 0]) - 1) < 1e-12)
    }

    @Test func clippedPolicyLossAndItsGradient() {
        // Token 0: A = 1, ratio e^0.1 = 1.10517 inside [0.8, 1.2]: term −1.10517, gradient −A·ρ/n.
        // Token 1: A = 1, ratio e^0.5 = 1.64872 > 1.2: clipped term −1.2 is larger, no gradient, clipped.
        // Token 2: A = −2, ratio e^−0.5 = 0.60653 < 0.8: unclipped 1.21306 vs clipped 1.6: clipped, no gradient.
        let loss = ClippedPolicyLoss(logProbabilities: [0.1, 0.5, -0.5, 7], old: [0, 0, 0, 0], advantages: [1, 1, -2, 5],
                                     mask: [1, 1, 1, 0], clip: 0.2)
        let e01 = exp(0.1)
        #expect(abs(loss.loss - (-e01 - 1.2 + 1.6) / 3) < 1e-6)
        #expect(abs(Double(loss.gradient[0]) + e01 / 3) < 1e-6 && loss.gradient[1] == 0 && loss.gradient[2] == 0)
        #expect(loss.gradient[3] == 0)
        #expect(abs(loss.clipFraction - 2.0 / 3) < 1e-12)
        #expect(abs(loss.approximateKL - 0.5 * (0.01 + 0.25 + 0.25) / 3) < 1e-6)
    }

    @Test func clippedValueLossAndItsGradient() {
        // Token 0: v 1, old 0.9, R 2: clip(v) = 1.0 (in range) → both (1 − 2)² = 1, gradient (v − R)/n = −0.5.
        // Token 1: v 3, old 1, R 0: clipped 1.2 → (1.2)² = 1.44 < 9: unclipped larger, gradient 3/2.
        // Token 2 is padding.
        let loss = ClippedValueLoss(values: [1, 3, 5], oldValues: [0.9, 1, 0], returns: [2, 0, 0], mask: [1, 1, 0], clip: 0.2)
        #expect(abs(loss.loss - 0.5 * (1 + 9) / 2) < 1e-6)
        #expect(abs(loss.gradient[0] + 0.5) < 1e-6 && abs(loss.gradient[1] - 1.5) < 1e-6 && loss.gradient[2] == 0)
        // v 1, old 2, R 3: clipped v 1.8 is closer to R (1.44 < 4): the unclipped term wins.
        // v 2.5, old 2, R 0: clipped 2.2 → 4.84 < 6.25, unclipped wins; v 1.5, old 2, R 0: clipped 1.8 → 3.24 > 2.25.
        let clipped = ClippedValueLoss(values: [1.5], oldValues: [2], returns: [0], mask: [1], clip: 0.2)
        #expect(clipped.gradient[0] == 0 && clipped.clipFraction == 1 && abs(clipped.loss - 0.5 * 3.24) < 1e-6)
    }

    @Test func spanScoresThroughOffsets() {
        // "Mia moved to Lisbon in May." — good "Mia moved", poor "in May"; "Lisbon" unscored.
        let text = "Mia moved to Lisbon in May."
        let offsets: [Range<Int>] = [0..<3, 3..<9, 9..<12, 12..<19, 19..<22, 22..<26, 26..<27, 27..<27]
        let spans = [ScoredSpan(start: 0, end: 9, score: 1), ScoredSpan(start: 20, end: 26, score: -1)]
        let scores = spanTokenScores(offsets: offsets, spans: spans, text: text)
        #expect(scores == [1, 1, 0, 0, -1, -1, 0, 0])
        // A token in both a good and a poor span takes the poor score; punctuation takes a score only when asked.
        let both = spanTokenScores(offsets: [0..<3, 26..<27], spans: [ScoredSpan(start: 0, end: 27, score: 1),
                                                                      ScoredSpan(start: 1, end: 2, score: -1)], text: text)
        #expect(both == [-1, 0])
        let punctuation = spanTokenScores(offsets: [26..<27], spans: [ScoredSpan(start: 20, end: 27, score: -1)], text: text,
                                          rule: TokenRewardRule(scoreNonAlphanumeric: true))
        #expect(punctuation == [-1])
        // The scalar baseline's score from the same critique, by default the sum of the token scores (token mode's
        // return): 1 + 1 − 1 − 1 = 0; with three good tokens and one poor, 2, where the mean over quoted tokens is 0.5.
        #expect(sequenceScore(tokenScores: scores, offsets: offsets, spans: spans) == 0)
        let more = [Float(1), 1, 1, 0, -1, 0]
        let moreOffsets: [Range<Int>] = [0..<3, 3..<9, 9..<12, 12..<19, 19..<22, 22..<26]
        let moreSpans = [ScoredSpan(start: 0, end: 12, score: 1), ScoredSpan(start: 19, end: 22, score: -1)]
        #expect(sequenceScore(tokenScores: more, offsets: moreOffsets, spans: moreSpans) == 2)
        #expect(sequenceScore(tokenScores: more, offsets: moreOffsets, spans: moreSpans, rule: .mean) == 0.5)
        // Neutral scores count in the sum as they do in token mode's return, and not in the mean.
        #expect(sequenceScore(tokenScores: [0.5, 1], offsets: [0..<3, 3..<9], spans: [ScoredSpan(start: 3, end: 9, score: 1)]) == 1.5)
        #expect(sequenceScore(tokenScores: [0.5, 1], offsets: [0..<3, 3..<9], spans: [ScoredSpan(start: 3, end: 9, score: 1)],
                              rule: .mean) == 1)
        #expect(sequenceScore(tokenScores: [1, 1, 0], offsets: [0..<3, 3..<9, 9..<12], spans: [spans[0]], rule: .mean) == 1)
    }
}
