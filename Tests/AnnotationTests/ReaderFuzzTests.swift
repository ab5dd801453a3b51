import Foundation
import FuzzSupport
import Testing

@testable import Annotation
@testable import Tasks

/// `annotate`'s input reader on a few hundred seeded mutations of each form it reads (JSONL, a JSON list, a dict keyed
/// by id), under both bad-line policies: each is refused with a `AnnotationError` naming the file, or read into items
/// with unique ids and every skipped entry accounted for; never a crash.
@Suite struct DatasetReaderFuzzTests {
    static let forms = [
        """
        {"id": "a", "prompt": "Summarise the post.", "response": "Mia moved to Lisbon."}
        {"id": "b", "prompt": "P", "response": "R", "extra": [1, 2]}
        {"prompt": "P2", "response": "R2"}

        """,
        """
        [{"id": "a", "prompt": "P", "response": "R"},
         {"id": "b", "prompt": "P", "response": "R"}]
        """,
        """
        {"t3_a": {"post": "Post A", "generated_summary": "Sum A", "ideal_human_summary": "Ideal A"},
         "t3_b": {"post": "Post B", "generated_summary": "Sum B", "ideal_human_summary": "Ideal B"}}
        """,
    ]

    @Test(arguments: [BadLinePolicy.fatal, .skip])
    func mutatedInputIsRefusedOrReadCorrectly(policy: BadLinePolicy) throws {
        let path = NSTemporaryDirectory() + "fuzz-dataset-\(getpid())-\(policy.rawValue).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = Date()
        var total = (accepted: 0, refused: 0)
        for (index, form) in Self.forms.enumerated() {
            let counts = fuzz(
                Data(form.utf8), seed: 24 + UInt64(index), cases: 150,
                write: { try $0.write(to: URL(fileURLWithPath: path)) },
                read: {
                    let dataset = try DatasetReader.read(path: path, policy: policy)
                    #expect(Set(dataset.items.map(\.id)).count == dataset.items.count, "ids unique")
                    if policy == .fatal { #expect(dataset.rejected.isEmpty) }
                    #expect(dataset.rejected.allSatisfy { $0.error.description.contains(path) })
                    #expect(!dataset.items.contains { $0.id.unicodeScalars.contains("\u{FFFD}") }, "no repaired ids")
                },
                isTyped: { error in
                    guard let error = error as? AnnotationError else { return false }
                    return error.description.contains(path)
                },
                report: { Issue.record(Comment(rawValue: $0)) })
            total.accepted += counts.accepted
            total.refused += counts.refused
        }
        print("annotate input fuzz (\(policy)): \(total.accepted) read, \(total.refused) refused with a AnnotationError")
        #expect(total.accepted > 0 && total.refused > 0)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
