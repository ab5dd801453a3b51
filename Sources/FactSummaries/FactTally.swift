import Foundation
import JSON

/// Fact accuracy and the mistakes behind it, summed over many summaries: what `eval facts` prints and what the
/// demo reports for the base, the policy and each PPO run.
public struct FactTally: Sendable, Equatable {
    /// Summaries checked.
    public private(set) var summaries = 0
    /// Summaries whose post could not be read (not counted in anything else).
    public private(set) var unreadable = 0
    /// The sum of per-summary fact accuracies (`meanAccuracy` divides it).
    public private(set) var accuracySum = 0.0
    /// Summaries with every fact right and nothing invented or repeated.
    public private(set) var perfect = 0
    /// Facts of the posts by verdict (correct, wrong, vague, missing).
    public private(set) var facts: [FactStatus: Int] = [:]
    /// Values of slots the post does not state.
    public private(set) var unsupported = 0
    /// Phrases said twice.
    public private(set) var repeats = 0

    public init() {}

    /// Adds the check of `summary` against the post text `post`.
    public mutating func add(post: String, summary: String) {
        guard case let .success(postFacts) = PostParser.parse(post) else {
            unreadable += 1
            return
        }
        add(FactChecker.check(postFacts, summary: summary))
    }

    /// Adds one check.
    public mutating func add(_ check: SummaryCheck) {
        summaries += 1
        accuracySum += check.accuracy
        for fact in check.facts { facts[fact.status, default: 0] += 1 }
        unsupported += check.unsupported.count
        repeats += check.repeats.count
        if check.accuracy == 1, check.repeats.isEmpty { perfect += 1 }
    }

    /// The mean fact accuracy over the summaries checked (0 when none).
    public var meanAccuracy: Double { summaries == 0 ? 0 : accuracySum / Double(summaries) }

    /// Mistakes per summary of each kind the task injects: a wrong value (or one the post never gives), a vague
    /// phrase, a repetition, an omission.
    public var mistakesPerSummary: [String: Double] {
        let n = Double(max(1, summaries))
        return [
            "wrong": Double((facts[.wrong] ?? 0) + unsupported) / n, "vague": Double(facts[.vague] ?? 0) / n,
            "repeated": Double(repeats) / n, "missing": Double(facts[.missing] ?? 0) / n,
        ]
    }

    /// The figures as a JSON object: what `eval facts` prints and the demo's `evaluation.json` holds.
    public var summary: JSONValue {
        ["summaries": JSONValue(summaries), "unreadable_posts": JSONValue(unreadable),
         "fact_accuracy": JSONValue(meanAccuracy), "perfect": JSONValue(perfect),
         "mistakes_per_summary": .object(mistakesPerSummary.map { ($0.key, JSONValue($0.value)) })]
    }

    /// One line: accuracy, perfect summaries and the mistakes per summary.
    public var line: String {
        let m = mistakesPerSummary
        return String(format: "fact accuracy %.3f over %d summaries (%.0f%% perfect); per summary: wrong %.2f, vague %.2f, "
                      + "repeated %.2f, missing %.2f", meanAccuracy, summaries,
                      100 * Double(perfect) / Double(max(1, summaries)), m["wrong"]!, m["vague"]!, m["repeated"]!,
                      m["missing"]!)
    }
}
