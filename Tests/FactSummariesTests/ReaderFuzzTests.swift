import Common
import Foundation
import FuzzSupport
import Testing
@testable import FactSummaries

/// `eval facts`' predictions reader on a few hundred seeded mutations of a valid file (and of its task file): each is
/// refused with a `FileError` naming the file, or read into summaries with their posts; never a crash.
@Suite struct FactPredictionsFuzzTests {
    static let predictions = """
        {"id": "t1", "response": "Ben, a nurse, moved to Zurich in December with his parrot Rex."}
        {"prompt": "My name is Ida. I am 60 years old. In March I moved to Seville.", "prediction": "Ida moved."}
        {"id": "t1", "completion": "Ben moved."}

        """
    static let task = """
        {"id": "t1", "prompt": "My name is Ben. I work as a nurse. I moved to Zurich in December with my parrot, Rex."}
        {"id": "t2", "prompt": "Hi all, I am Ida."}

        """

    @Test(arguments: [false, true]) func mutatedFilesAreRefusedOrReadCorrectly(mutateTask: Bool) throws {
        let directory = NSTemporaryDirectory() + "fuzz-facts-\(getpid())-\(mutateTask)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let predictions = directory + "/predictions.jsonl", task = directory + "/task.jsonl"
        try Self.predictions.write(toFile: predictions, atomically: true, encoding: .utf8)
        try Self.task.write(toFile: task, atomically: true, encoding: .utf8)
        let target = mutateTask ? task : predictions
        let started = Date()
        let counts = fuzz(
            Data((mutateTask ? Self.task : Self.predictions).utf8), seed: mutateTask ? 25 : 24, cases: 300,
            write: { try $0.write(to: URL(fileURLWithPath: target)) },
            read: {
                let read = try FactPredictions.read(path: predictions, task: task)
                #expect(!read.isEmpty)
                #expect(!read.contains { ($0.post + $0.summary).unicodeScalars.contains("\u{FFFD}") }, "no repairs")
                var tally = FactTally()
                for prediction in read { tally.add(post: prediction.post, summary: prediction.summary) }
                #expect(tally.summaries + tally.unreadable == read.count)
            },
            isTyped: { error in
                guard let error = error as? FileError else { return false }
                return error.description.contains(predictions) || error.description.contains(task)
            },
            report: { Issue.record(Comment(rawValue: $0)) })
        let name = mutateTask ? "task" : "predictions"
        print("facts fuzz (\(name)): \(counts.accepted) read, \(counts.refused) refused with a FileError")
        #expect(counts.accepted > 0 && counts.refused > 0)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
