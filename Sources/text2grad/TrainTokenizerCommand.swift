import ArgumentParser
import Common
import Foundation
import Tokenizers

/// `text2grad train-tokenizer`: a byte-level BPE tokenizer with a ChatML template, trained offline on text files.
struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-tokenizer",
        abstract: "Train a byte-level BPE tokenizer on text files; writes tokenizer.json and tokenizer_config.json.",
        discussion: """
            Each line of each corpus file is one text. The tokenizer has the special tokens <|endoftext|>,
            <|im_start|> and <|im_end|> (ids 0-2), all 256 bytes, and merges up to --vocab-size; its
            tokenizer_config.json holds a ChatML chat template. Use it with 'text2grad init-model --tokenizer OUT'.
            """)

    @Option(name: .long, parsing: .singleValue, help: "A text file, one text per line (repeatable).")
    var corpus: [String] = []

    @Option(help: "Vocabulary size (special tokens and the 256 bytes included).")
    var vocabSize = 1024

    @Option(help: "Pairs seen fewer times than this are never merged.")
    var minFrequency = 2

    @Option(name: [.short, .long], help: "Output directory.")
    var output: String

    func validate() throws {
        guard !corpus.isEmpty else { throw ValidationError("give at least one --corpus FILE") }
        for path in corpus where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("--corpus \(path) does not exist")
        }
        guard (259...1 << 20).contains(vocabSize) else {
            throw ValidationError("--vocab-size must lie in 259...\(1 << 20)")
        }
        guard minFrequency >= 1 else { throw ValidationError("--min-frequency must be at least 1") }
    }

    func run() throws {
        var texts: [String] = []
        for path in corpus {
            let text = try InputFile.text(path: path)
            texts += text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
        var trainer = BPETrainer()
        trainer.vocabularySize = vocabSize
        trainer.minimumFrequency = minFrequency
        let start = Date()
        let trained = try trainer.train(texts)
        try trained.write(directory: URL(fileURLWithPath: output))
        let seconds = Date().timeIntervalSince(start)
        let time = String(format: "%.2f", seconds)
        note("trained \(trained.vocabularySize) tokens on \(texts.count) texts in \(time) s; wrote \(output)")
    }
}
