import Foundation

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
