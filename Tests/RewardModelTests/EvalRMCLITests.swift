import Foundation
import Spans
import Testing
import TestSupport

/// `text2grad eval-rm` on gold records whose spans fall outside their response, run as a user runs it: refused
/// before scoring (they used to be scored as empty spans), naming the file, the line and the span.
@Suite(.serialized) struct EvalRMCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static func executable() throws -> String {
        try #require(text2gradExecutable(), "build the text2grad executable first").path
    }

    /// Exit status (nil for a signal) and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32?, stderr: String) {
        let finished = try launch(URL(fileURLWithPath: try executable()), arguments, standardOutput: FileHandle.nullDevice)
        return (finished.exitStatus, finished.stderr)
    }

    static func line(_ record: AnnotationRecord) throws -> String {
        String(decoding: try JSONEncoder().encode(record), as: UTF8.self) + "\n"
    }

    @Test func goldSpansOutsideTheResponseAreRefused() throws {
        let directory = NSTemporaryDirectory() + "eval-rm-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let response = "Mia moved to Lisbon."  // 20 scalars
        let good = RewardModelDataTests.record(
            id: "a", response: response, spans: [RewardModelDataTests.span("Mia", "good_spans", 0, 3, .exact)])
        let predictions = directory + "/predictions.jsonl"
        try Self.line(good).write(toFile: predictions, atomically: true, encoding: .utf8)
        let tokenizer = Self.root.appendingPathComponent("Fixtures/models/chat-smollm").path
        let cases: [(AlignedSpan, String)] = [
            (RewardModelDataTests.span("Lisbon", "poor_spans", 13, 40, .exact), "'spans[0].end' 40 is outside 13...20"),
            (RewardModelDataTests.span("Lisbon", "poor_spans", -2, 4, .exact), "'spans[0].start' -2 is outside"),
            (RewardModelDataTests.span("Lisbon", "poor_spans", 25, 30, .exact), "'spans[0].start' 25 is outside"),
            (RewardModelDataTests.span("Lisbon", "poor_spans", 10, 5, .exact), "'spans[0].end' 5 is outside 10...20"),
        ]
        for (index, (span, message)) in cases.enumerated() {
            let gold = directory + "/gold-\(index).jsonl"
            let bad = RewardModelDataTests.record(id: "b", response: response, spans: [span])
            try (Self.line(good) + Self.line(bad)).write(toFile: gold, atomically: true, encoding: .utf8)
            let (status, stderr) = try Self.run(["eval-rm", "--annotations", gold, "--predictions", predictions,
                                                 "--all", "--tokenizer", tokenizer])
            #expect(status != nil && status != 0, "refused with an exit: \(stderr)")
            for text in [gold + ":2", message] { #expect(stderr.contains(text), "\(text) in: \(stderr)") }
        }
        // The same files with the span inside the response are scored.
        let gold = directory + "/gold-ok.jsonl"
        try (Self.line(good) + Self.line(RewardModelDataTests.record(
            id: "b", response: response, spans: [RewardModelDataTests.span("Lisbon", "poor_spans", 13, 19, .exact)])))
            .write(toFile: gold, atomically: true, encoding: .utf8)
        let (status, stderr) = try Self.run(["eval-rm", "--annotations", gold, "--predictions", predictions, "--all",
                                             "--tokenizer", tokenizer])
        #expect(status == 0, "\(stderr)")
    }
}
