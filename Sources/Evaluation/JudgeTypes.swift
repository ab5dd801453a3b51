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
            let id = try record.requiredID("id")
            guard baselineByID.updateValue(record, forKey: id) == nil else {
                throw EvaluationError.badRecord(
                    path: baseline, line: record.line, item: record.item, field: "id", detail: "'\(id)' appears twice")
            }
        }
        var seen = Set<String>()
        return try ours.map { record in
            let id = try record.requiredID("id")
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

/// Who a judge preferred in one comparison, by identity (not by position).
public enum Preference: String, Codable, Sendable {
    /// The evaluated model's answer.
    case model
    /// The baseline's answer.
    case baseline
    /// Neither.
    case tie

    /// The model's score for this verdict: 1 for a win, ½ for a tie, 0 for a loss.
    public var score: Double {
        switch self {
        case .model: return 1
        case .tie: return 0.5
        case .baseline: return 0
        }
    }
}

/// A win rate over items, with its standard error; ties count half, as AlpacaEval counts them.
public struct WinRate: Codable, Sendable, Equatable {
    /// Items compared.
    public var items: Int
    /// Verdicts (items × orders asked).
    public var verdicts: Int
    /// Verdicts for the model.
    public var wins: Int
    /// Verdicts for the baseline.
    public var losses: Int
    /// Tied verdicts.
    public var ties: Int
    /// Mean over items of the item's score (the mean of its verdicts' scores), 0–1.
    public var winRate: Double
    /// Standard error of that mean: the items' sample standard deviation over √items (0 for one item).
    public var standardError: Double

    /// The win rate of `verdicts`, one list per item (one verdict, or one per order asked).
    public init(perItem verdicts: [[Preference]]) {
        let judged = verdicts.filter { !$0.isEmpty }
        items = judged.count
        self.verdicts = judged.reduce(0) { $0 + $1.count }
        wins = judged.reduce(0) { $0 + $1.filter { $0 == .model }.count }
        losses = judged.reduce(0) { $0 + $1.filter { $0 == .baseline }.count }
        ties = judged.reduce(0) { $0 + $1.filter { $0 == .tie }.count }
        let scores = judged.map { item in item.reduce(0) { $0 + $1.score } / Double(item.count) }
        winRate = scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
        if scores.count > 1 {
            let mean = winRate
            let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(scores.count - 1)
            standardError = (variance / Double(scores.count)).squareRoot()
        } else {
            standardError = 0
        }
    }

    enum CodingKeys: String, CodingKey {
        case items, verdicts, wins, losses, ties
        case winRate = "win_rate"
        case standardError = "standard_error"
    }
}

/// Which answer a judge sees first, per item.
public enum PresentationOrder: String, Codable, Sendable {
    /// The model's answer is "A".
    case modelFirst = "model_first"
    /// The baseline's answer is "A".
    case baselineFirst = "baseline_first"

    /// The other order.
    public var flipped: PresentationOrder { self == .modelFirst ? .baselineFirst : .modelFirst }

    /// Orders for `count` items from `seed`: a seeded shuffle of a half-and-half list, so that a judge that
    /// always favours one position adds exactly nothing to the win rate (an odd count leaves one item over,
    /// drawn by the seed), instead of a random ±1/√n drift as independent coin flips would.
    public static func balanced(count: Int, seed: UInt64) -> [PresentationOrder] {
        var generator = OrderGenerator(seed: seed)
        var orders = (0..<count).map { $0 < count / 2 ? PresentationOrder.modelFirst : .baselineFirst }
        if count % 2 == 1 { orders[count - 1] = generator.next() & 1 == 0 ? .modelFirst : .baselineFirst }
        orders.shuffle(using: &generator)
        return orders
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014), the same stream on every platform. Models has a public one; this
/// stays internal so that a file importing both modules sees no ambiguity, and Evaluation needs no engine.
struct OrderGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
