import Foundation
@testable import Spans
import TestSupport
import Testing

@testable import Annotation
@testable import Common
@testable import LLMClient
@testable import CodeSandbox
@testable import Tasks

@Suite("Output files and progress")
struct StoreAndProgressTests {
    @Test func appendWritesWholeLinesAndScanReadsThemBack() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let path = directory.path("out.jsonl")
        let appender = try JSONLAppender(path: path)
        for index in 0..<3 {
            try await appender.append(FailureRecord(id: "id\(index)", kind: "parse", reason: "line\nbreak"))
        }
        await appender.close()
        let scan = try JSONLScan.read(path: path)
        #expect(scan.ids == ["id0", "id1", "id2"])
        #expect(scan.truncatedBytes == 0)
        #expect(try readLineCount(path) == 3)
    }

    @Test func tornTailIsCutAndACorruptCompleteLineIsAnErrorWithItsNumber() throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let torn = try directory.write("torn.jsonl", "{\"id\": \"a\"}\n\n{\"id\": \"b\"}\n{\"id\": \"c\", \"sp")
        let scan = try JSONLScan.read(path: torn)
        #expect(scan.ids == ["a", "b"])
        #expect(scan.truncatedBytes == 15)  // {"id": "c", "sp
        #expect(try String(contentsOfFile: torn, encoding: .utf8) == "{\"id\": \"a\"}\n\n{\"id\": \"b\"}\n")
        let corrupt = try directory.write("corrupt.jsonl", "{\"id\": \"a\"}\n{\"id\": \"b\", oops}\n{\"id\": \"c\"}\n")
        #expect(throws: FileError.corruptLine(path: corrupt, line: 2, detail: "not a JSON object")) {
            try JSONLScan.read(path: corrupt)
        }
        let noID = try directory.write("noid.jsonl", "{\"x\": 1}\n")
        #expect(throws: FileError.corruptLine(path: noID, line: 1, detail: "no string 'id'")) {
            try JSONLScan.read(path: noID)
        }
        #expect(try JSONLScan.read(path: directory.path("absent.jsonl")).ids.isEmpty)
    }

    @Test func aSecondWriterIsRefusedUntilTheFirstCloses() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let path = directory.path("out.jsonl")
        let first = try JSONLAppender(path: path)
        #expect(throws: FileError.io(path: path, detail: "cannot lock (another run is writing this file)")) {
            _ = try JSONLAppender(path: path)
        }
        await first.close()
        let second = try JSONLAppender(path: path)
        await second.close()
    }

    @Test func earlierFailuresAloneAlsoRequireResumeOrOverwrite() throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        var config = AnnotateConfig(environment: [:])
        config.input = try directory.write("in.jsonl", try jsonl([summaryItem("a")]))
        config.output = directory.path("out.jsonl")
        _ = try directory.write("out.failures.jsonl", "{\"id\": \"a\", \"kind\": \"http_4xx\"}\n")
        let run = AnnotationRun(config: config, logger: quietLogger)
        #expect(throws: AnnotationError.outputExists(path: config.failuresPath)) { try run.checkExistingOutput() }
        config.overwrite = true
        #expect(throws: Never.self) { try AnnotationRun(config: config, logger: quietLogger).checkExistingOutput() }
    }

    @Test func dryRunSendsNothingAndChangesNothing() throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        var config = AnnotateConfig(environment: [:])
        config.input = try directory.write("in.jsonl", try jsonl(["a", "b", "c"].map { summaryItem($0) }))
        config.output = directory.path("out.jsonl")
        config.endpoint.baseURL = "http://127.0.0.1:9/v1"
        config.endpoint.model = "gpt-4o-mini"
        config.resume = true
        let existing = "{\"id\": \"a\"}\n{\"id\": \"b\", \"tor"
        _ = try directory.write("out.jsonl", existing)
        let report = try AnnotationRun(config: config, logger: quietLogger).dryRun()
        #expect(report.contains("3 items in"))
        #expect(report.contains("1 already done, 2 to annotate"))
        #expect(report.contains("torn line of 16 bytes"))  // {"id": "b", "tor
        #expect(report.contains("first prompt (item b):"))
        #expect(report.contains("Summary b: the cat Miso"))
        #expect(report.contains("cost ≤ $"))
        #expect(try String(contentsOfFile: config.output, encoding: .utf8) == existing)
        #expect(!FileManager.default.fileExists(atPath: config.failuresPath))
        #expect(!FileManager.default.fileExists(atPath: config.output + ".config.yaml"))
    }

    @Test func plainProgressPrintsLinesAndTheBarRedrawsInPlace() async {
        let lines = Collected()
        let plain = ProgressReporter(total: 4, style: .plain, interval: 3600) { lines.add($0) }
        for index in 0..<4 { await plain.advance(failed: index == 2) }
        await plain.finish()
        let plainText = lines.all
        // The first item prints at once, later ones wait for the interval, finish prints the last state.
        #expect(plainText.count == 2)
        #expect(plainText.last?.hasPrefix("progress: 4/4 100%") == true)
        #expect(plainText.last?.contains("failed 1") == true)
        #expect(plainText.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") })

        let drawn = Collected()
        let bar = ProgressReporter(total: 2, style: .bar) { drawn.add($0) }
        await bar.advance(failed: false)
        await bar.advance(failed: false)
        await bar.finish()
        #expect(drawn.all.allSatisfy { $0.hasPrefix("\r[") })
        #expect(drawn.all.last?.contains("[##############################] 2/2 100%") == true)
        #expect(drawn.all.last?.hasSuffix("\n") == true)

        let silent = Collected()
        let none = ProgressReporter(total: 1, style: .none) { silent.add($0) }
        await none.advance(failed: false)
        await none.finish()
        #expect(silent.all.isEmpty)
        #expect(ProgressReporter.clock(3725) == "1:02:05")
        #expect(ProgressReporter.clock(65) == "1:05")
    }

    @Test func qaRunFromChatMessages() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            guard request.userText.contains("## The user's request\nWhat is the capital of France?") else {
                return .status(400, body: "prompt not built from messages")
            }
            return .content(critique("Correct and brief.", good: ["Paris"], poor: ["I think"]))
        }
        let messages: [[String: Any]] = [
            ["role": "user", "content": "What is the capital of France?"],
            ["role": "assistant", "content": "I think it is Paris."],
        ]
        let input = try directory.write("uf.jsonl", try jsonl([["prompt_id": "q1", "messages": messages]]))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.task = "qa"
        let summary = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        #expect(summary.records == 1)
        let record = try #require(try readJSONL(config.output).first)
        #expect(record["id"] as? String == "q1")
        #expect(record["task"] as? String == "qa")
        #expect(record["response"] as? String == "I think it is Paris.")
        let spans = try #require(record["spans"] as? [[String: Any]])
        #expect(spans.map { $0["start"] as? Int } == [14, 0])
    }
}

/// Strings written by a progress reporter.
// Unchecked Sendable: its items are read and written under its lock.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func add(_ text: String) { lock.withLock { items.append(text) } }
    var all: [String] { lock.withLock { items } }
}
