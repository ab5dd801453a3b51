import Foundation

/// A scored stretch of a response: Unicode-scalar offsets [start, end) and the score its tokens get
/// (+1 a good span, −1 a poor one, a task's own value for others).
public struct ScoredSpan: Sendable, Equatable, Codable {
    public var start: Int
    public var end: Int
    public var score: Double

    public init(start: Int, end: Int, score: Double) {
        self.start = start
        self.end = end
        self.score = score
    }
}

/// How critiqued spans become per-token scores.
public struct TokenRewardRule: Sendable, Equatable, Codable {
    /// The score of a token no span touches (the paper: 0).
    public var neutral: Double = 0
    /// Whether tokens without a letter or digit (spaces, punctuation) take their span's score; by default they
    /// get `neutral`, so a critique of a phrase does not reward the comma after it.
    public var scoreNonAlphanumeric: Bool = false

    public init(neutral: Double = 0, scoreNonAlphanumeric: Bool = false) {
        self.neutral = neutral
        self.scoreNonAlphanumeric = scoreNonAlphanumeric
    }
}

/// Per-token scores from spans, through each token's character offsets into the response text:
/// 1. a token takes the score of every span its characters overlap, and the lowest of them when several do
///    (a token inside both a good and a poor span gets the poor score);
/// 2. a token no span overlaps gets `rule.neutral`;
/// 3. a token whose characters hold no letter or digit gets `rule.neutral` unless `rule.scoreNonAlphanumeric`.
/// `offsets[i]` is token i's [start, end) in Unicode scalars of `text` (empty ranges, e.g. special tokens, touch
/// nothing).
public func spanTokenScores(
    offsets: [Range<Int>], spans: [ScoredSpan], text: String, rule: TokenRewardRule = TokenRewardRule()
) -> [Float] {
    let scalars = Array(text.unicodeScalars)
    return offsets.map { offset -> Float in
        let start = max(0, offset.lowerBound), end = min(scalars.count, offset.upperBound)
        guard start < end else { return Float(rule.neutral) }
        if !rule.scoreNonAlphanumeric,
           !scalars[start..<end].contains(where: { $0.properties.isAlphabetic || $0.properties.numericType != nil }) {
            return Float(rule.neutral)
        }
        let touching = spans.filter { $0.start < end && start < $0.end && $0.start < $0.end }.map(\.score)
        return Float(touching.min() ?? rule.neutral)
    }
}

/// How the scalar baseline turns a critique's token scores into one sequence score.
public enum SequenceScoreRule: String, Sendable, Codable, CaseIterable {
    /// The sum of every response token's score: token-level PPO's return before the KL term, so the two modes
    /// differ only in where the reward lands (the default).
    case sum
    /// The mean score of the tokens that lie in a span (0 when none does): bounded in [−1, 1] whatever the length.
    case mean
}

/// The scalar baseline's sequence score from the same spans as token-level rewards (see `SequenceScoreRule`).
public func sequenceScore(tokenScores: [Float], offsets: [Range<Int>], spans: [ScoredSpan],
                          rule: SequenceScoreRule = .sum) -> Double {
    switch rule {
    case .sum:
        return tokenScores.reduce(0.0) { $0 + Double($1) }
    case .mean:
        var sum = 0.0, count = 0
        for (score, offset) in zip(tokenScores, offsets)
        where spans.contains(where: { $0.start < offset.upperBound && offset.lowerBound < $0.end }) {
            sum += Double(score)
            count += 1
        }
        return count > 0 ? sum / Double(count) : 0
    }
}
