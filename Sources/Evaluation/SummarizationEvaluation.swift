import Foundation

/// A prediction with its references, as `eval summarization` reads it.
public struct SummarizationExample: Sendable, Equatable {
    /// The record's `id`, if it has one.
    public var id: String?
    /// The model's output.
    public var prediction: String
    /// One or more references.
    public var references: [String]

    /// Creates an example.
    public init(id: String? = nil, prediction: String, references: [String]) {
        precondition(!references.isEmpty, "an example needs a reference")
        self.id = id
        self.prediction = prediction
        self.references = references
    }

    /// The examples of a predictions file: `prediction` and `reference` (a string) or `references` (a list of strings),
    /// and an optional `id` (a string or an integer) that no other record repeats; at least one record. The file is
    /// read by `RecordFile.read` (UTF-8, no lone surrogates); every error names the file, the line and the field.
    public static func read(path: String) throws -> [SummarizationExample] {
        var seen: [String: Int] = [:]
        return try RecordFile.read(path: path, kind: "prediction").enumerated().map { index, record in
            let id = try record.id("id")
            if let id, let first = seen.updateValue(record.line ?? index, forKey: id) {
                let place = record.line == nil ? "item \(first)" : "line \(first)"
                throw record.bad("id", "'\(id.prefix(60))' is also on \(place); ids must be unique")
            }
            let prediction = try record.requiredString("prediction")
            var references: [String]
            if record.value["references"] != nil {
                references = try record.strings("references")
            } else {
                references = [try record.requiredString("reference")]
            }
            guard !references.isEmpty else {
                throw EvaluationError.badRecord(
                    path: path, line: record.line, item: record.item, field: "references", detail: "empty list")
            }
            return SummarizationExample(id: id, prediction: prediction, references: references)
        }
    }
}

/// ROUGE (plain and stemmed) and BLEU of one example.
public struct SummarizationScores: Sendable {
    /// rouge-score without the stemmer.
    public var rouge: [RougeType: RougeScore]
    /// rouge-score with `use_stemmer`.
    public var rougeStemmed: [RougeType: RougeScore]
    /// sacrebleu's `sentence_bleu` (exp smoothing, effective order).
    public var sentenceBLEU: Double
}

/// The means and the corpus BLEU over a predictions file.
public struct SummarizationSummary: Sendable {
    /// Examples scored.
    public var examples: Int
    /// Mean precision, recall and F1 per ROUGE variant, without stemming.
    public var rouge: [RougeType: RougeScore]
    /// The same with stemming.
    public var rougeStemmed: [RougeType: RougeScore]
    /// sacrebleu's `corpus_bleu` with its defaults.
    public var corpusBLEU: BLEUScore
    /// The signature of that corpus BLEU.
    public var bleuSignature: String
    /// The mean of the sentence BLEUs.
    public var meanSentenceBLEU: Double
}

/// `eval summarization`: every metric the paper reports for SLF5K, per example and over the file.
public enum SummarizationEvaluation {
    /// Scores of one example.
    public static func score(_ example: SummarizationExample) -> SummarizationScores {
        let plain = RougeScorer(stemming: false)
        let stemmed = RougeScorer(stemming: true)
        return SummarizationScores(
            rouge: plain.score(prediction: example.prediction, references: example.references),
            rougeStemmed: stemmed.score(prediction: example.prediction, references: example.references),
            sentenceBLEU: BLEU.sentence().sentenceScore(hypothesis: example.prediction, references: example.references)
                .score)
    }

    /// The summary of `examples` given their `scores` (same order). Corpus BLEU takes the k-th references
    /// of all examples as the k-th stream, with gaps where an example has fewer.
    public static func summarize(_ examples: [SummarizationExample], scores: [SummarizationScores]) throws
        -> SummarizationSummary
    {
        precondition(examples.count == scores.count, "one score per example")
        guard !examples.isEmpty else { throw EvaluationError.input(detail: "no examples to evaluate") }
        let depth = examples.map(\.references.count).max()!
        let streams: [[String?]] = (0..<depth).map { k in
            examples.map { k < $0.references.count ? $0.references[k] : nil }
        }
        let metric = BLEU()
        let corpus = try metric.corpusScore(hypotheses: examples.map(\.prediction), references: streams)
        return SummarizationSummary(
            examples: examples.count, rouge: means(scores.map(\.rouge)),
            rougeStemmed: means(scores.map(\.rougeStemmed)),
            corpusBLEU: corpus, bleuSignature: metric.signature(referenceCount: BLEU.referenceCount(streams)),
            meanSentenceBLEU: scores.reduce(0) { $0 + $1.sentenceBLEU } / Double(scores.count))
    }

    static func means(_ all: [[RougeType: RougeScore]]) -> [RougeType: RougeScore] {
        var result: [RougeType: RougeScore] = [:]
        for type in RougeType.standard {
            let values = all.compactMap { $0[type] }
            let n = Double(values.count)
            result[type] = RougeScore(
                precision: values.reduce(0) { $0 + $1.precision } / n, recall: values.reduce(0) { $0 + $1.recall } / n,
                fmeasure: values.reduce(0) { $0 + $1.fmeasure } / n)
        }
        return result
    }
}
