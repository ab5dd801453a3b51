import Foundation
import JSON
import Spans
import Tokenizers

/// Precision, recall and F1 from counts (each 0 when its denominator is).
public struct PRF: Sendable, Equatable, Codable {
    public var truePositives: Double
    public var predicted: Double
    public var actual: Double

    public init(truePositives: Double = 0, predicted: Double = 0, actual: Double = 0) {
        self.truePositives = truePositives
        self.predicted = predicted
        self.actual = actual
    }

    public var precision: Double { predicted > 0 ? truePositives / predicted : 0 }
    public var recall: Double { actual > 0 ? truePositives / actual : 0 }
    public var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }

    static func + (a: PRF, b: PRF) -> PRF {
        PRF(truePositives: a.truePositives + b.truePositives, predicted: a.predicted + b.predicted, actual: a.actual + b.actual)
    }

    /// {"precision", "recall", "f1", "tp", "predicted", "actual"}.
    public var json: JSONValue {
        ["precision": JSONValue(precision), "recall": JSONValue(recall), "f1": JSONValue(f1),
         "tp": JSONValue(truePositives), "predicted": JSONValue(predicted), "actual": JSONValue(actual)]
    }
}

/// How well a reward model's critiques match the teacher's on held-out items, per label and micro-averaged
/// over items:
/// - spans, exact: a predicted span counts if a gold span of its label has the same offsets (one-to-one);
/// - spans, overlap: precision counts predicted spans overlapping a gold span of their label, recall gold spans
///   overlapped by a prediction of theirs;
/// - tokens: each response token (under the given tokenizer) is in label L if it overlaps a span of L; P/R/F1
///   over tokens;
/// - a parse failure predicts nothing (its gold spans and tokens count as missed) and is counted, never scored
///   as perfect; unmatched predicted quotes count against precision and in the unmatched rate.
public struct RewardModelEvaluation: Sendable {
    /// Span overlap counts: predictions that hit a gold span (precision) and gold spans found (recall).
    public struct Overlap: Sendable, Equatable {
        public var predictedHits = 0.0, predicted = 0.0, goldFound = 0.0, gold = 0.0

        public var precision: Double { predicted > 0 ? predictedHits / predicted : 0 }
        public var recall: Double { gold > 0 ? goldFound / gold : 0 }
        public var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }
        public var json: JSONValue {
            ["precision": JSONValue(precision), "recall": JSONValue(recall), "f1": JSONValue(f1)]
        }

        static func + (a: Overlap, b: Overlap) -> Overlap {
            Overlap(predictedHits: a.predictedHits + b.predictedHits, predicted: a.predicted + b.predicted,
                    goldFound: a.goldFound + b.goldFound, gold: a.gold + b.gold)
        }
    }

    /// One label's scores.
    public struct LabelScores: Sendable, Equatable {
        public var exactSpans = PRF()
        public var overlapSpans = Overlap()
        public var tokens = PRF()

        static func + (a: LabelScores, b: LabelScores) -> LabelScores {
            LabelScores(exactSpans: a.exactSpans + b.exactSpans, overlapSpans: a.overlapSpans + b.overlapSpans,
                        tokens: a.tokens + b.tokens)
        }

        public var json: JSONValue {
            ["spans_exact": exactSpans.json, "spans_overlap": overlapSpans.json, "tokens": tokens.json]
        }
    }

    public private(set) var labels: [String: LabelScores] = [:]
    public private(set) var items = 0
    public private(set) var parseFailures = 0
    public private(set) var predictedSpans = 0
    public private(set) var unmatchedSpans = 0
    let labelOrder: [String]

    public init(format: RewardModelFormat) {
        labelOrder = format.labels.map(\.name)
        for name in labelOrder { labels[name] = LabelScores() }
    }

    /// Adds one held-out item; returns its per-label scores (for the per-example JSONL).
    @discardableResult
    public mutating func add(gold: AnnotationRecord, predicted: CritiqueOutcome, tokenizer: Tokenizer) -> [String: LabelScores] {
        items += 1
        let offsets = tokenizer.encode(gold.response, addSpecialTokens: false).offsets
        // A prediction for another text (never from `critique`) is as useless as a parse failure.
        let record = predicted.record.flatMap { $0.response == gold.response ? $0 : nil }
        if record == nil { parseFailures += 1 }
        var scores: [String: LabelScores] = [:]
        for name in labelOrder {
            let goldSpans = Self.ranges(gold.spans, label: name)
            let quoted = record?.spans.filter { $0.label == name } ?? []
            let found = Self.ranges(quoted, label: name)
            predictedSpans += quoted.count
            unmatchedSpans += quoted.count - found.count
            var unused = goldSpans, exact = 0.0
            for span in found {
                if let i = unused.firstIndex(of: span) { exact += 1; unused.remove(at: i) }
            }
            let goldTokens = Self.tokens(in: goldSpans, offsets), predictedTokens = Self.tokens(in: found, offsets)
            let s = LabelScores(
                exactSpans: PRF(truePositives: exact, predicted: Double(quoted.count), actual: Double(goldSpans.count)),
                overlapSpans: Overlap(
                    predictedHits: Double(found.filter { p in goldSpans.contains { $0.overlaps(p) } }.count),
                    predicted: Double(quoted.count),
                    goldFound: Double(goldSpans.filter { g in found.contains { $0.overlaps(g) } }.count),
                    gold: Double(goldSpans.count)),
                tokens: PRF(truePositives: Double(goldTokens.intersection(predictedTokens).count),
                            predicted: Double(predictedTokens.count), actual: Double(goldTokens.count)))
            labels[name] = labels[name]! + s
            scores[name] = s
        }
        return scores
    }

    /// Parse failures per item, and unmatched quotes per predicted quote.
    public var parseFailureRate: Double { items > 0 ? Double(parseFailures) / Double(items) : 0 }
    public var unmatchedSpanRate: Double { predictedSpans > 0 ? Double(unmatchedSpans) / Double(predictedSpans) : 0 }

    /// The summary as JSON: per label exact/overlap span and token P/R/F1, parse-failure and unmatched rates.
    public var summary: JSONValue {
        var perLabel: [(key: String, value: JSONValue)] = []
        for name in labelOrder where !perLabel.contains(where: { $0.key == name }) {
            perLabel.append((name, labels[name]!.json))
        }
        return [
            "items": JSONValue(items), "labels": .object(perLabel),
            "parse_failure_rate": JSONValue(parseFailureRate), "parse_failures": JSONValue(parseFailures),
            "unmatched_span_rate": JSONValue(unmatchedSpanRate),
            "predicted_spans": JSONValue(predictedSpans),
        ]
    }

    static func ranges(_ spans: [AlignedSpan], label: String) -> [Range<Int>] {
        spans.compactMap { span in
            guard span.label == label, span.match != .unmatched, let s = span.start, let e = span.end, s < e else { return nil }
            return s..<e
        }
    }

    /// The indices of the tokens whose offsets overlap any of `spans`.
    static func tokens(in spans: [Range<Int>], _ offsets: [Range<Int>]) -> Set<Int> {
        var set = Set<Int>()
        for (i, offset) in offsets.enumerated() where !offset.isEmpty && spans.contains(where: { $0.overlaps(offset) }) {
            set.insert(i)
        }
        return set
    }
}
