import Common
import ArgumentParser
import Foundation
import JSON
import Models
import Tensor
import Tokenizers

/// `text2grad score`: per-token log-probabilities and perplexity of each input, as JSONL.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-token log-probabilities and perplexity of token sequences under a model.",
        discussion: """
            Input: JSONL, one object per line with "text" (encoded with the model's tokenizer, special tokens
            added as transformers does) or "ids": [token ids]; an "id" field is passed through.
            Output: one JSON object per input line with "logprobs" (log p of tokens 1..n-1), "mean_nll" and "perplexity".
            """)

    @Option(help: "A Hugging Face model directory (config.json + safetensors).")
    var model: String

    @Option(help: "The tokenizer directory for \"text\" lines (default: the model directory).")
    var tokenizer: String?

    @Option(help: "The JSONL file to score.")
    var input: String

    @Option(help: "Where to write the JSONL results (default: standard output).")
    var output: String?

    @Option(help: "Sequences per forward pass.")
    var batchSize: Int = 8

    @Option(help: "Threads for matrix products and kernels.")
    var threads: Int = Compute.defaultThreadCount

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        Compute.useThreads(threads)
        let lm = try LlamaModel(directory: model)
        if !lm.unusedTensors.isEmpty {
            note("warning: \(lm.unusedTensors.count) checkpoint tensors unused: \(lm.unusedTensors.prefix(5).joined(separator: ", "))")
        }
        let records = try JSONLines.read(path: input)
        var textTokenizer: Tokenizer?
        var sequences: [[Int]] = []
        for record in records {
            if let value = record.object["ids"] {
                guard let ids = TokenBatch.ids(fromJSON: value) else {
                    throw FileError.badLine(path: input, line: record.number, detail: "\"ids\" must be an array of integer token ids")
                }
                guard let bad = ids.first(where: { $0 < 0 || $0 >= lm.config.vocabSize }) else {
                    sequences.append(ids)
                    continue
                }
                throw FileError.badLine(
                    path: input, line: record.number,
                    detail: "\"ids\": token id \(bad) is outside the vocabulary of \(lm.config.vocabSize)")
            } else if let text = record.object["text"]?.stringValue {
                if textTokenizer == nil {
                    textTokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer ?? model))
                }
                sequences.append(textTokenizer!.encode(text, addSpecialTokens: true).ids)
            } else {
                throw FileError.badLine(path: input, line: record.number, detail: "needs \"text\" or \"ids\" (an array of token ids)")
            }
        }
        let sink = try JSONLWriter(path: output)
        let started = Date()
        for start in stride(from: 0, to: sequences.count, by: batchSize) {
            let end = min(start + batchSize, sequences.count)
            let scores = try lm.score(Array(sequences[start..<end]), batchSize: batchSize)
            for (offset, score) in scores.enumerated() {
                let record = records[start + offset]
                var object: JSONValue = [
                    "line": JSONValue(record.number), "tokens": JSONValue(sequences[start + offset].count),
                    "logprobs": .array(score.tokenLogProbabilities.map { JSONValue(Double($0)) }),
                    "mean_nll": JSONValue(score.meanNegativeLogLikelihood), "perplexity": JSONValue(score.perplexity),
                ]
                if let id = record.object["id"] { object["id"] = id }
                try sink.write(object)
            }
            if output != nil { note("scored \(end)/\(sequences.count) (\(Int(Date().timeIntervalSince(started)))s)") }
        }
    }
}
