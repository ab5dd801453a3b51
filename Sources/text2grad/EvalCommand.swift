import ArgumentParser
import Common
import Evaluation
import Foundation
import JSON

/// `text2grad eval`: the paper's metrics, identical to the reference implementations.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate outputs: ROUGE and BLEU, pass@k in the sandbox, an LLM judge's win rate, or the built-in task's fact accuracy.",
        subcommands: [EvalSummarization.self, EvalCode.self, EvalJudge.self, EvalFacts.self])
}

/// `text2grad eval summarization`: ROUGE (rouge-score) and BLEU (sacrebleu) per example and over the file.
struct EvalSummarization: AsyncParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarization",
        abstract: "ROUGE-1/2/L/Lsum (stemmed and not) and BLEU of predictions against references.",
        discussion: """
            Reads JSONL (or a JSON list) with "prediction" and "reference" (a string) or "references" (a list) \
            per record, and an optional "id". Writes one JSON line of scores per example to --output and a \
            summary JSON to standard output: mean ROUGE precision, recall and F1 with and without the Porter \
            stemmer (as rouge-score computes them; several references take the best F1), corpus BLEU with its \
            sacrebleu signature, and the mean sentence BLEU (exp smoothing, effective order).
            """)

    @OptionGroup var file: ConfigFileOption

    @Option(help: "Predictions file (JSONL, gzipped JSONL or a JSON list).")
    var predictions: String?

    @Option(help: "Per-example scores, JSONL.")
    var output: String?

    func resolvedConfig() throws -> EvalSummarizationConfig {
        try Self.resolve(file: file.config) { c in
            c.override(\.predictions, predictions)
            c.override(\.output, output)
        }
    }

    func run() async throws {
        do {
            let c = try resolvedConfig()
            let output = c.output
            let examples = try SummarizationExample.read(path: c.predictions)
            let scores = examples.map(SummarizationEvaluation.score)
            if let output {
                let sink = try JSONLWriter(path: output)
                for (example, score) in zip(examples, scores) {
                    var line: JSONValue = [
                        "rouge": rougeObject(score.rouge), "rouge_stemmed": rougeObject(score.rougeStemmed),
                        "bleu": JSONValue(score.sentenceBLEU),
                    ]
                    if let id = example.id { line["id"] = JSONValue(id) }
                    try sink.write(line)
                }
            }
            let summary = try SummarizationEvaluation.summarize(examples, scores: scores)
            let bleu = summary.corpusBLEU
            try printJSON([
                "examples": JSONValue(summary.examples), "rouge": rougeObject(summary.rouge),
                "rouge_stemmed": rougeObject(summary.rougeStemmed),
                "bleu": [
                    "corpus": JSONValue(bleu.score), "signature": JSONValue(summary.bleuSignature),
                    "precisions": .array(bleu.precisions.map { JSONValue($0) }),
                    "brevity_penalty": JSONValue(bleu.brevityPenalty), "sys_len": JSONValue(bleu.systemLength),
                    "ref_len": JSONValue(bleu.referenceLength),
                    "sentence_mean": JSONValue(summary.meanSentenceBLEU),
                ],
            ])
        } catch let error as EvaluationError {
            note("error: \(error)")
            throw Exit.failure
        } catch let error as FileError {
            note("error: \(error)")
            throw Exit.failure
        }
    }
}

/// `{"rouge1": {"precision", "recall", "fmeasure"}, …}`.
func rougeObject(_ scores: [RougeType: RougeScore]) -> JSONValue {
    var object: JSONValue = [:]
    for type in RougeType.standard {
        guard let score = scores[type] else { continue }
        object[type.description] = [
            "precision": JSONValue(score.precision), "recall": JSONValue(score.recall),
            "fmeasure": JSONValue(score.fmeasure),
        ]
    }
    return object
}

/// A JSON object on standard output, keys sorted, indented.
func printJSON(_ object: JSONValue) throws {
    try StandardOutput.line(object.sortedDocument)
}
