import Foundation
import JSON

/// One comparison: a prompt, the evaluated model's answer and the baseline's.
public struct JudgeItem: Sendable, Equatable {
    /// The item's id (shared by the two predictions files).
    public var id: String
    /// What both answered: the request, or the post being summarised.
    public var prompt: String
    /// The evaluated model's answer.
    public var model: String
    /// The baseline's answer.
    public var baseline: String

    /// Creates an item.
    public init(id: String, prompt: String, model: String, baseline: String) {
        self.id = id
        self.prompt = prompt
        self.model = model
        self.baseline = baseline
    }
}

extension JudgeItem {
    /// Items from two output files matched by `id`: the answer is `prediction` (or `response`, `output`), the
    /// prompt the predictions' `prompt` (or `post`, `query`, `instruction`), else the baseline's.
    public static func pair(predictions: String, baseline: String) throws -> [JudgeItem] {
        let ours = try RecordFile.read(path: predictions)
        let theirs = try RecordFile.read(path: baseline)
        var baselineByID: [String: SourcedRecord] = [:]
        for record in theirs {
            let id = try record.requiredString("id")
            guard baselineByID.updateValue(record, forKey: id) == nil else {
                throw EvaluationError.badRecord(
                    path: baseline, line: record.line, item: record.item, field: "id", detail: "'\(id)' appears twice")
            }
        }
        var seen = Set<String>()
        return try ours.map { record in
            let id = try record.requiredString("id")
            guard seen.insert(id).inserted else {
                throw EvaluationError.badRecord(
                    path: predictions, line: record.line, item: record.item, field: "id",
                    detail: "'\(id)' appears twice")
            }
            guard let other = baselineByID[id] else {
                throw EvaluationError.badRecord(
                    path: predictions, line: record.line, item: record.item, field: "id",
                    detail: "'\(id)' has no line in \(baseline)")
            }
            return JudgeItem(
                id: id, prompt: prompt(record) ?? prompt(other) ?? "", model: try answer(record),
                baseline: try answer(other))
        }
    }

    static func answer(_ record: SourcedRecord) throws -> String {
        for field in ["prediction", "response", "output"] {
            if let text = record.value[field]?.stringValue { return text }
        }
        throw EvaluationError.badRecord(
            path: record.path, line: record.line, item: record.item, field: "prediction",
            detail: "needs a string 'prediction', 'response' or 'output'")
    }

    static func prompt(_ record: SourcedRecord) -> String? {
        for field in ["prompt", "post", "query", "instruction"] {
            if let text = record.value[field]?.stringValue { return text }
        }
        return nil
    }
}

/// Settings of a judge run.
public struct JudgeConfig: Sendable {
    /// What the judge weighs.
    public var criteria: JudgeCriteria = .preference
    /// Seed of the presentation orders.
    public var seed: UInt64 = 0
    /// Shuffle which answer comes first (balanced over items); off shows the model's answer first every time.
    public var randomizeOrder = true
    /// Ask twice per item, once in each order; the item scores the mean of the two verdicts.
    public var bothOrders = false
    /// The judge's sampling temperature.
    public var temperature = 0.0
    /// The judge's completion limit.
    public var maxTokens = 1024
    /// Requests in flight at once.
    public var concurrency = 8
    /// The JSONL cache of answers, keyed by a SHA-256 of the request; nil for none.
    public var cachePath: String?
    /// The judge model's name, part of each cache key (the client carries the model itself).
    public var judgeModel = ""

    /// The defaults above.
    public init() {}
}

/// One verdict of an item, by identity.
public struct JudgeVerdict: Codable, Sendable, Equatable {
    /// Which answer was shown first.
    public var order: PresentationOrder
    /// Who won; nil when the answer held no verdict.
    public var preference: Preference?
    /// The SLF5K judge's scores of the model's answer.
    public var modelScores: SummaryScores?
    /// The SLF5K judge's scores of the baseline's answer.
    public var baselineScores: SummaryScores?
    /// True when the answer came from the cache.
    public var cached: Bool
    /// The judge's answer as it came.
    public var raw: String

    enum CodingKeys: String, CodingKey {
        case order, preference, cached, raw
        case modelScores = "model_scores"
        case baselineScores = "baseline_scores"
    }
}

/// An item's line in the judge's output.
public struct JudgeRecord: Codable, Sendable, Equatable {
    /// The item's id.
    public var id: String
    /// One verdict per order asked.
    public var verdicts: [JudgeVerdict]
    /// The mean of the verdicts' scores for the model (1 win, ½ tie, 0 loss); nil when none parsed.
    public var score: Double?
}

/// The judge run's summary.
public struct JudgeReport: Codable, Sendable {
    /// The win rate over items whose verdicts parsed.
    public var winRate: WinRate
    /// Verdicts whose answer held no verdict (left out of the win rate).
    public var unparsed: Int
    /// Requests sent to the endpoint (the others came from the cache).
    public var requests: Int
    /// Answers taken from the cache.
    public var cached: Int
    /// How the order was chosen, in words.
    public var order: String
    /// The SLF5K judge's mean scores by criterion, for the model and the baseline.
    public var meanScores: [String: [String: Double]]?

    enum CodingKeys: String, CodingKey {
        case unparsed, requests, cached, order
        case winRate = "win_rate"
        case meanScores = "mean_scores"
    }
}
