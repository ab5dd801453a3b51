import Foundation
import FuzzSupport
import Testing
@testable import RewardModel

/// The annotation-records reader (`train-rm`, `eval-rm`, `train-policy`'s critic data) on a few hundred seeded
/// mutations of a valid file: each is refused with a `RewardModelError` naming the file, or read into records with
/// unique ids whose span offsets lie inside their response; never a crash.
@Suite struct RecordReaderFuzzTests {
    @Test func mutatedRecordFilesAreRefusedOrReadCorrectly() throws {
        let records = [
            RewardModelDataTests.record(id: "a", response: "Mia moved to Lisbon in May.", spans: [
                RewardModelDataTests.span("Mia moved", "good_spans", 0, 9, .exact),
                RewardModelDataTests.span("the cat", "poor_spans", nil, nil, .unmatched),
            ]),
            RewardModelDataTests.record(id: "b", response: "Rex is a parrot.", spans: [
                RewardModelDataTests.span("parrot", "good_spans", 9, 15, .exact),
            ]),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let valid = try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        let path = NSTemporaryDirectory() + "fuzz-records-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = Date()
        let counts = fuzz(
            Data(valid.utf8), seed: 24, cases: 300, write: { try $0.write(to: URL(fileURLWithPath: path)) },
            read: {
                let read = try RewardModelData.records(path: path)
                #expect(!read.isEmpty)
                #expect(Set(read.map(\.id)).count == read.count, "ids unique")
                for record in read {
                    let length = record.response.unicodeScalars.count
                    for span in record.spans {
                        if let start = span.start { #expect((0...length).contains(start)) }
                        if let end = span.end { #expect(((span.start ?? 0)...length).contains(end)) }
                    }
                    #expect(!(record.prompt + record.response + record.critique).unicodeScalars.contains("\u{FFFD}"))
                }
                _ = try? RewardModelData.format(of: read, path: path)
            },
            isTyped: { error in
                guard let error = error as? RewardModelError else { return false }
                return error.description.contains(path)
            },
            report: { Issue.record(Comment(rawValue: $0)) })
        print("annotation records fuzz: \(counts.accepted) read, \(counts.refused) refused with a RewardModelError")
        #expect(counts.accepted > 0 && counts.refused > 0)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
