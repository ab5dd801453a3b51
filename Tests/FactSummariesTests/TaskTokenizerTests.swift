import FactSummaries
import Foundation
import Testing
import Tokenizers

/// A tokenizer trained on the task's own corpus: small, lossless on every text the pipeline writes.
@Suite struct TaskTokenizerTests {
    @Test("a 1024-token BPE trained on the task's corpus round-trips its texts with offsets; posts take ~70 tokens")
    func taskTokenizer() throws {
        var options = FactTaskOptions()
        options.trainCount = 300
        options.evalCount = 50
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-tok-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FactTask.write(options: options, to: directory.path)
        let corpus = try String(contentsOf: directory.appendingPathComponent("corpus.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let trained = try BPETrainer().train(corpus)
        try trained.write(directory: directory)
        let tokenizer = try Tokenizer.load(directory: directory)
        #expect(tokenizer.vocabSize == 1024)
        let teacher = FactTeacher()
        var postTokens = 0
        let eval = try FactTask.items(.eval, options: options)
        for item in eval {
            let answer = teacher.review(item.post.facts, summary: item.imperfect.text).json
            for text in [FactTask.policyPrompt(post: item.post.text), item.reference, item.imperfect.text, answer] {
                let encoding = tokenizer.encode(text, addSpecialTokens: false)
                #expect(tokenizer.decode(encoding.ids) == text)
                let scalars = Array(text.unicodeScalars)
                #expect(encoding.offsets.map { String(String.UnicodeScalarView(scalars[$0])) }.joined() == text)
            }
            postTokens += tokenizer.encode(item.post.text, addSpecialTokens: false).count
        }
        let mean = Double(postTokens) / Double(eval.count)
        #expect(mean > 40 && mean < 100, "mean tokens per post \(mean)")
    }
}
