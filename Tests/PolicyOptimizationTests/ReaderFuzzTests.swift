import Common
import Foundation
import FuzzSupport
import Testing
import Tokenizers
@testable import PolicyOptimization

/// The prompts reader on a few hundred seeded mutations of a valid file: each is refused with a `FileError` naming
/// the file, or read into prompts that hold (non-empty token ids, unique ids, no repaired text); never a crash.
@Suite struct PromptReaderFuzzTests {
    static let valid = """
        {"id": "p1", "prompt": "Summarise: Mia moved to Lisbon in March."}
        {"id": "p2", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
        {"prompt": "Tell me about Rex the parrot.", "reference": "A parrot.", "facts": {"pet": "parrot"}}

        """

    @Test func mutatedPromptFilesAreRefusedOrReadCorrectly() throws {
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: BadInputCLITests.model))
        let path = NSTemporaryDirectory() + "fuzz-prompts-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = Date()
        let counts = fuzz(
            Data(Self.valid.utf8), seed: 24, cases: 300, write: { try $0.write(to: URL(fileURLWithPath: path)) },
            read: {
                let prompts = try PolicyPrompt.load(path: path, tokenizer: tokenizer)
                #expect(!prompts.isEmpty)
                #expect(Set(prompts.map(\.id)).count == prompts.count, "ids unique")
                let vocabulary = 0..<tokenizer.vocabSize
                #expect(prompts.allSatisfy { !$0.ids.isEmpty && $0.ids.allSatisfy(vocabulary.contains) })
                #expect(!prompts.contains { $0.text.unicodeScalars.contains("\u{FFFD}") }, "no repaired text")
            },
            isTyped: { error in
                guard let error = error as? FileError else { return false }
                return error.description.contains(path)
            },
            report: { Issue.record(Comment(rawValue: $0)) })
        print("prompts fuzz: \(counts.accepted) read, \(counts.refused) refused with a FileError")
        #expect(counts.accepted > 0 && counts.refused > 0)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
