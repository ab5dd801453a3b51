import Common
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

/// The trainer pinned to Hugging Face (scripts/make_bpe_fixtures.py): the same corpus gives the committed
/// tokenizer.json byte for byte, and `tokenizers` and `transformers` read it as we do.
@Suite struct TrainedTokenizerFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizers/facts-bpe")

    @Test("retraining on seed 0's corpus writes the committed file; ids, offsets and chat text equal transformers'")
    func matchesHuggingFace() throws {
        var options = FactTaskOptions()
        options.trainCount = 300
        options.evalCount = 20
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-bpe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        try FactTask.write(options: options, to: data.path)
        let corpus = try String(contentsOf: data.appendingPathComponent("corpus.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var trainer = BPETrainer()
        trainer.vocabularySize = 512
        let trained = try trainer.train(corpus)
        let committed = try String(contentsOf: Self.directory.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        #expect(trained.tokenizerJSON() == committed)
        #expect(try trained.configJSON() == String(
            contentsOf: Self.directory.appendingPathComponent("tokenizer_config.json"), encoding: .utf8))

        let tokenizer = try Tokenizer.load(directory: Self.directory)
        let goldens = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.directory.appendingPathComponent("goldens.json"))) as? [String: Any])
        #expect(goldens["vocab_size"] as? Int == tokenizer.vocabSize)
        let encodings = try #require(goldens["encodings"] as? [[String: Any]])
        #expect(encodings.count > 30)
        for golden in encodings {
            let text = try #require(golden["text"] as? String)
            let encoding = tokenizer.encode(text, addSpecialTokens: false)
            #expect(encoding.ids == golden["ids"] as? [Int], "\(text)")
            #expect(encoding.offsets.map { [$0.lowerBound, $0.upperBound] } == golden["offsets"] as? [[Int]], "\(text)")
            #expect(tokenizer.decode(encoding.ids) == golden["decoded"] as? String)
        }
        for chat in try #require(goldens["chat"] as? [[String: Any]]) {
            let messages = (chat["messages"] as? [[String: String]] ?? []).map {
                ChatMessage(role: $0["role"] ?? "", content: $0["content"] ?? "")
            }
            let rendered = try tokenizer.applyChatTemplate(
                messages: messages, addGenerationPrompt: chat["add_generation_prompt"] as? Bool ?? false)
            #expect(rendered == chat["text"] as? String)
        }
    }
}
