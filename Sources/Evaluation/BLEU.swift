import Foundation

/// How BLEU treats an n-gram order with no match (Chen & Cherry 2014, as sacrebleu names them).
public enum BLEUSmoothing: Sendable, Equatable {
    /// No smoothing: a zero precision makes the score 0.
    case none
    /// Method 1: a zero count becomes `epsilon` (sacrebleu's default 0.1).
    case floor(Double)
    /// Method 2: `k` added to the matches and totals of orders 2 and up (default 1).
    case addK(Double)
    /// Method 3, NIST's (mteval-v13a): the k-th zero precision becomes 1 / (2^k · total). sacrebleu's default.
    case exp

    /// sacrebleu's name and, for methods with a value, its value as the signature prints it.
    var signature: String {
        switch self {
        case .none: return "none"
        case .exp: return "exp"
        case .floor(let value): return "floor[\(String(format: "%.2f", value))]"
        case .addK(let value): return "add-k[\(String(format: "%.2f", value))]"
        }
    }
}

/// A BLEU score with the numbers sacrebleu reports beside it.
public struct BLEUScore: Sendable, Equatable {
    /// BLEU on sacrebleu's 0–100 scale.
    public var score: Double
    /// Matched n-grams per order (after add-k smoothing, as sacrebleu returns them).
    public var counts: [Double]
    /// Hypothesis n-grams per order (likewise).
    public var totals: [Double]
    /// Modified precision per order, 0–100.
    public var precisions: [Double]
    /// Brevity penalty.
    public var brevityPenalty: Double
    /// Hypothesis tokens.
    public var systemLength: Int
    /// Closest-reference tokens.
    public var referenceLength: Int
}

/// The sufficient statistics of one segment or a whole corpus: lengths, matches and totals per order.
public struct BLEUStatistics: Sendable, Equatable {
    /// Hypothesis tokens.
    public var systemLength = 0
    /// Reference tokens (per segment, the reference closest in length).
    public var referenceLength = 0
    /// Clipped matches per n-gram order.
    public var correct: [Int]
    /// Hypothesis n-grams per order.
    public var total: [Int]

    /// All zeros for `order` n-gram orders.
    public init(order: Int) {
        correct = [Int](repeating: 0, count: order)
        total = [Int](repeating: 0, count: order)
    }

    /// The element-wise sum, as sacrebleu aggregates a corpus.
    public static func + (a: BLEUStatistics, b: BLEUStatistics) -> BLEUStatistics {
        var sum = a
        sum.systemLength += b.systemLength
        sum.referenceLength += b.referenceLength
        for n in sum.correct.indices {
            sum.correct[n] += b.correct[n]
            sum.total[n] += b.total[n]
        }
        return sum
    }

    /// sacrebleu's list form: [hyp_len, ref_len, correct…, total…].
    public var asList: [Int] { [systemLength, referenceLength] + correct + total }
}

/// BLEU exactly as `sacrebleu` (`BLEU`, `corpus_bleu`, `sentence_bleu`) computes it with the 13a tokenizer.
public struct BLEU: Sendable {
    /// The sacrebleu release the fixtures were made with, printed in the signature.
    public static let referenceVersion = "2.6.0"
    /// Smoothing method.
    public var smoothing: BLEUSmoothing
    /// Drop n-gram orders past the last one with any n-grams (on for sentence BLEU).
    public var effectiveOrder: Bool
    /// Lower-case hypothesis and references first (Python's `str.lower`).
    public var lowercase: Bool
    /// Highest n-gram order.
    public var maxOrder: Int

    /// Creates the metric; the defaults are `corpus_bleu`'s.
    public init(
        smoothing: BLEUSmoothing = .exp, effectiveOrder: Bool = false, lowercase: Bool = false, maxOrder: Int = 4
    ) {
        precondition(maxOrder >= 1, "BLEU needs n-gram order ≥ 1")
        self.smoothing = smoothing
        self.effectiveOrder = effectiveOrder
        self.lowercase = lowercase
        self.maxOrder = maxOrder
    }

    /// `sentence_bleu`'s settings: effective order on.
    public static func sentence(smoothing: BLEUSmoothing = .exp, lowercase: Bool = false) -> BLEU {
        BLEU(smoothing: smoothing, effectiveOrder: true, lowercase: lowercase)
    }

    /// One hypothesis against its references (`sentence_score`).
    public func sentenceScore(hypothesis: String, references: [String]) -> BLEUScore {
        score(statistics(hypothesis: hypothesis, references: references.map { Optional($0) }))
    }

    /// A corpus: `references[k][i]` is the k-th reference of hypothesis i, nil where it has fewer
    /// references (sacrebleu's reference streams). Throws when the streams do not match the hypotheses.
    public func corpusScore(hypotheses: [String], references: [[String?]]) throws -> BLEUScore {
        score(try corpusStatistics(hypotheses: hypotheses, references: references).total)
    }

    /// Per-segment statistics and their sum.
    public func corpusStatistics(hypotheses: [String], references: [[String?]]) throws
        -> (segments: [BLEUStatistics], total: BLEUStatistics)
    {
        guard !references.isEmpty else {
            throw EvaluationError.input(detail: "BLEU needs at least one reference stream")
        }
        for (k, stream) in references.enumerated() where stream.count != hypotheses.count {
            throw EvaluationError.input(
                detail: "reference stream \(k + 1) has \(stream.count) segments, the hypotheses \(hypotheses.count)")
        }
        var segments: [BLEUStatistics] = []
        segments.reserveCapacity(hypotheses.count)
        var total = BLEUStatistics(order: maxOrder)
        for (i, hypothesis) in hypotheses.enumerated() {
            guard references.contains(where: { $0[i] != nil }) else {
                throw EvaluationError.input(detail: "hypothesis \(i + 1) has no reference")
            }
            let segment = statistics(hypothesis: hypothesis, references: references.map { $0[i] })
            segments.append(segment)
            total = total + segment
        }
        return (segments, total)
    }

    /// sacrebleu's `nrefs`: the number of references per segment, or "var" when it varies.
    public static func referenceCount(_ references: [[String?]]) -> String {
        guard let first = references.first else { return "0" }
        var counts = Set<Int>()
        for i in first.indices { counts.insert(references.reduce(0) { $0 + ($1[i] == nil ? 0 : 1) }) }
        return counts.count == 1 ? String(counts.first!) : "var"
    }

    /// sacrebleu's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    public func signature(referenceCount: String) -> String {
        [
            "nrefs:\(referenceCount)", "case:\(lowercase ? "lc" : "mixed")", "eff:\(effectiveOrder ? "yes" : "no")",
            "tok:13a", "smooth:\(smoothing.signature)", "version:\(Self.referenceVersion)",
        ].joined(separator: "|")
    }

    // MARK: - Statistics

    func preprocess(_ text: String) -> [[Unicode.Scalar]] {
        var scalars = Array(text.unicodeScalars)
        if lowercase { scalars = Tokenizer13a.pythonLowercased(scalars) }
        return Tokenizer13a.words(Tokenizer13a.tokenize(Tokenizer13a.rstripped(scalars)))
    }

    func ngramCounts(_ tokens: [String]) -> [[String]: Int] {
        var counts: [[String]: Int] = [:]
        for n in 1...maxOrder where tokens.count >= n {
            for start in 0...(tokens.count - n) { counts[Array(tokens[start..<(start + n)]), default: 0] += 1 }
        }
        return counts
    }

    /// A segment's statistics; nil references are absent ones.
    public func statistics(hypothesis: String, references: [String?]) -> BLEUStatistics {
        var referenceNgrams: [[String]: Int] = [:]
        var referenceLengths: [Int] = []
        for case let reference? in references {
            let tokens = preprocess(reference).map { String(String.UnicodeScalarView($0)) }
            referenceLengths.append(tokens.count)
            for (gram, count) in ngramCounts(tokens) { referenceNgrams[gram] = max(referenceNgrams[gram] ?? 0, count) }
        }
        let tokens = preprocess(hypothesis).map { String(String.UnicodeScalarView($0)) }
        var stats = BLEUStatistics(order: maxOrder)
        stats.systemLength = tokens.count
        stats.referenceLength = Self.closestLength(tokens.count, referenceLengths)
        for (gram, count) in ngramCounts(tokens) {
            stats.total[gram.count - 1] += count
            if let available = referenceNgrams[gram] { stats.correct[gram.count - 1] += min(count, available) }
        }
        return stats
    }

    /// The reference length closest to the hypothesis length, the shorter one on ties (-1 with none).
    static func closestLength(_ length: Int, _ candidates: [Int]) -> Int {
        var bestDifference = -1
        var best = -1
        for candidate in candidates {
            let difference = abs(length - candidate)
            if bestDifference == -1 || difference < bestDifference {
                bestDifference = difference
                best = candidate
            } else if difference == bestDifference && candidate < best {
                best = candidate
            }
        }
        return best
    }

    // MARK: - The score

    /// `compute_bleu`: brevity penalty times the geometric mean of the (smoothed) precisions.
    public func score(_ stats: BLEUStatistics) -> BLEUScore {
        let sys = stats.systemLength
        let ref = stats.referenceLength
        var bp = 1.0
        if sys < ref { bp = sys > 0 ? Foundation.exp(1 - Double(ref) / Double(sys)) : 0 }
        var correct = stats.correct.map(Double.init)
        var total = stats.total.map(Double.init)
        var precisions = [Double](repeating: 0, count: maxOrder)
        guard stats.correct.contains(where: { $0 != 0 }) else {
            return BLEUScore(
                score: 0, counts: correct, totals: total, precisions: precisions, brevityPenalty: bp,
                systemLength: sys, referenceLength: ref)
        }
        var mteval = 1.0
        var order = maxOrder
        for n in 1...maxOrder {
            if case .addK(let k) = smoothing, n > 1 {
                correct[n - 1] += k
                total[n - 1] += k
            }
            if total[n - 1] == 0 { break }
            if effectiveOrder { order = n }
            if correct[n - 1] == 0 {
                switch smoothing {
                case .exp:
                    mteval *= 2
                    precisions[n - 1] = 100 / (mteval * total[n - 1])
                case .floor(let epsilon):
                    precisions[n - 1] = 100 * epsilon / total[n - 1]
                case .none, .addK:
                    break
                }
            } else {
                precisions[n - 1] = 100 * correct[n - 1] / total[n - 1]
            }
        }
        // sacrebleu's floored log: log(0) counts as -9999999999, so the score underflows to 0.
        var logSum = 0.0
        for p in precisions[..<order] { logSum += p == 0 ? -9_999_999_999 : Foundation.log(p) }
        return BLEUScore(
            score: bp * Foundation.exp(logSum / Double(order)), counts: correct, totals: total,
            precisions: precisions, brevityPenalty: bp, systemLength: sys, referenceLength: ref)
    }
}
