import ArgumentParser
import Common
import Foundation
import JSON
import Tokenizers

/// `text2grad bench tokenize`: single-threaded encoding throughput on a large text, as one JSON object.
struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Measure single-threaded encode throughput (MB/s) of a tokenizer on a text file."
    )

    @Option(name: .long, help: "Model directory with tokenizer.json.")
    var tokenizer: String

    @Option(name: .long, help: "Text file to encode, line by line (default: a built-in multilingual text).")
    var input: String?

    @Option(name: .long, help: "Target size of the built-in text in MB when no --input is given.")
    var megabytes: Double = 8

    @Option(name: .long, help: "Timed repetitions; the best gives the throughput (min, median and max are reported).")
    var repeats: Int = 3

    func validate() throws {
        guard FileManager.default.fileExists(atPath: tokenizer + "/tokenizer.json") else {
            throw ValidationError("--tokenizer \(tokenizer) has no tokenizer.json")
        }
        if let input, !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("--input \(input) does not exist")
        }
        guard repeats >= 1, megabytes > 0 else { throw ValidationError("--repeats and --megabytes must be positive") }
    }

    func run() throws {
        let model = try Tokenizers.Tokenizer.load(directory: URL(fileURLWithPath: tokenizer))
        let text =
            try input.map { try InputFile.text(path: $0) }
            ?? TokenizerBenchmark.syntheticText(megabytes: megabytes)
        let result = TokenizerBenchmark.run(model, text: text, repeats: repeats)
        let record: JSONValue = [
            "bench": "tokenize", "tokenizer": JSONValue(tokenizer), "bytes": JSONValue(result.bytes),
            "tokens": JSONValue(result.tokens), "seconds": JSONValue((result.seconds * 1e4).rounded() / 1e4),
            "mb_per_s": JSONValue((result.megabytesPerSecond * 100).rounded() / 100),
        ]
        try StandardOutput.line(JSONLines.encode(BenchSeconds(result.allSeconds).fields.merging(record)))
    }
}
