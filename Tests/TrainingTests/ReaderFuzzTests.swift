import Common
import Foundation
import FuzzSupport
import Testing
import Tokenizers
@testable import Training

/// The SFT data reader on a few hundred seeded mutations of a valid file: each is refused with a `TrainingError`
/// naming the file, or read into examples that hold (ids in the vocabulary, at most max_length tokens, a prompt and a
/// target); never a crash.
@Suite struct SFTReaderFuzzTests {
    static let valid = """
        {"id": "a", "prompt": "Hi", "completion": "Hello"}
        {"id": "b", "prompt_ids": [1, 2, 3], "target_ids": [4, 5]}
        {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}

        """

    @Test func mutatedSFTFilesAreRefusedOrReadCorrectly() throws {
        let model = TrainingTestFixtures.model("chat-smollm")
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: model))
        let vocabulary = 900, maxLength = 48
        let path = NSTemporaryDirectory() + "fuzz-sft-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = Date()
        let counts = fuzz(
            Data(Self.valid.utf8), seed: 24, cases: 300, write: { try $0.write(to: URL(fileURLWithPath: path)) },
            read: {
                var dropped: [Int] = []
                let examples = try SFTData.load(path: path, tokenizer: tokenizer, maxLength: maxLength,
                                                vocabularySize: vocabulary, dropped: &dropped)
                #expect(!examples.isEmpty)
                for example in examples {
                    #expect(example.tokens.allSatisfy { (0..<vocabulary).contains($0) })
                    #expect(example.tokens.count <= maxLength)
                    #expect(0 < example.targetStart && example.targetStart < example.targetEnd)
                    #expect(example.targetEnd <= example.tokens.count)
                }
            },
            isTyped: { error in
                guard let error = error as? TrainingError else { return false }
                return error.description.contains(path)
            },
            report: { Issue.record(Comment(rawValue: $0)) })
        print("SFT data fuzz: \(counts.accepted) read, \(counts.refused) refused with a TrainingError")
        #expect(counts.accepted > 0 && counts.refused > 0)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
