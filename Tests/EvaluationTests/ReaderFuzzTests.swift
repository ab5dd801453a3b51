import Foundation
import FuzzSupport
import Testing

@testable import Evaluation

/// The evaluation readers (summarization predictions, code tasks, code samples, judge predictions) on a few hundred
/// seeded mutations of valid files: each is refused with an `EvaluationError` naming the file, or read into records
/// that hold (strings where strings belong, no repaired text, unique ids where ids must be unique); never a crash.
@Suite struct EvaluationReaderFuzzTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eval/code")

    static func firstLines(_ name: String, _ count: Int) throws -> Data {
        let text = try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
        return Data((text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n").utf8)
    }

    static func repaired(_ texts: [String]) -> Bool { texts.contains { $0.unicodeScalars.contains("\u{FFFD}") } }

    /// Runs 300 mutations of `valid` through `read`; a refusal must be an `EvaluationError` naming the file.
    static func run(_ name: String, valid: Data, seed: UInt64, read: (String) throws -> Void) {
        let path = NSTemporaryDirectory() + "fuzz-eval-\(name)-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = Date()
        let counts = fuzz(
            valid, seed: seed, cases: 300, write: { try $0.write(to: URL(fileURLWithPath: path)) },
            read: { try read(path) },
            isTyped: { error in
                guard let error = error as? EvaluationError else { return false }
                return error.description.contains(path)
            },
            report: { Issue.record(Comment(rawValue: $0)) })
        print("\(name) fuzz: \(counts.accepted) read, \(counts.refused) refused with an EvaluationError")
        #expect(counts.accepted > 0 && counts.refused > 0)
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func summarizationPredictions() {
        let valid = Data("""
            {"id": "a", "prediction": "the cat sat on the mat", "reference": "the cat sat on a mat"}
            {"id": 2, "prediction": "dogs are running", "references": ["dogs run", "the dog is running"]}
            {"prediction": "p", "reference": "r"}

            """.utf8)
        Self.run("predictions", valid: valid, seed: 24) { path in
            let examples = try SummarizationExample.read(path: path)
            #expect(!examples.isEmpty && examples.allSatisfy { !$0.references.isEmpty })
            let ids = examples.compactMap(\.id)
            #expect(Set(ids).count == ids.count, "ids unique")
            #expect(!Self.repaired(examples.flatMap { [$0.prediction] + $0.references + [$0.id ?? ""] }))
            _ = examples.map(SummarizationEvaluation.score)
        }
    }

    @Test func codeTasks() throws {
        Self.run("tasks", valid: try Self.firstLines("mbpp-mini.jsonl", 2), seed: 25) { path in
            let tasks = try CodeProblem.read(path: path)
            #expect(!tasks.isEmpty)
            #expect(!Self.repaired(tasks.flatMap { [$0.id, $0.prompt, $0.test, $0.setup] + $0.testList }))
            _ = tasks.map(\.referenceProgram)
        }
    }

    @Test func codeSamples() throws {
        Self.run("samples", valid: try Self.firstLines("mbpp-samples.jsonl", 3), seed: 26) { path in
            let samples = try CodeSample.read(path: path)
            #expect(!samples.isEmpty)
            #expect(!Self.repaired(samples.map { $0.taskID + ($0.answer?.text ?? "") }))
        }
    }

    @Test func judgePredictions() throws {
        let baseline = NSTemporaryDirectory() + "fuzz-eval-baseline-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: baseline) }
        try """
            {"id": "a", "prediction": "base a", "prompt": "Post A"}
            {"id": "b", "prediction": "base b", "prompt": "Post B"}

            """.write(toFile: baseline, atomically: true, encoding: .utf8)
        let valid = Data("""
            {"id": "a", "prediction": "ours a"}
            {"id": "b", "response": "ours b", "prompt": "Post B"}

            """.utf8)
        Self.run("judge", valid: valid, seed: 27) { path in
            let items = try JudgeItem.pair(predictions: path, baseline: baseline)
            #expect(Set(items.map(\.id)).count == items.count, "ids unique")
            #expect(!Self.repaired(items.flatMap { [$0.id, $0.prompt, $0.model, $0.baseline] }))
        }
    }
}
