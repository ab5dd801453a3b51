import Foundation
@testable import Spans
import TestSupport
import Testing

@testable import Annotation
@testable import Common
@testable import LLMClient
@testable import CodeSandbox
@testable import Tasks

/// Whole runs in-process over files, against a scripted endpoint on 127.0.0.1.
@Suite("Annotation runs")
struct AnnotationRunTests {
    /// One scripted teacher covering the fault cases; items are recognised by their summary text.
    static let script: ScriptedEndpoint.Script = { request in
        let text = request.userText
        func has(_ id: String) -> Bool { text.contains("Summary \(id):") }
        let good = critique(
            "Names the cat correctly but gets the month wrong.", good: ["the cat Miso"], poor: ["in May"])
        if has("s1") { return .content(good) }
        if has("s2") { return .content("Let me think it through.\n```json\n\(good)\n```\nThat is my verdict.") }
        if has("s3") { return request.isReask ? .content(good) : .content("The summary is fine, nothing to add.") }
        if has("s4") { return .content("{\"textual_feedback\": \"oops\", \"good_spans\": [unquoted") }
        if has("s5") { return request.attempt == 1 ? .status(500, body: "internal error") : .content(good) }
        if has("s6") {
            return request.attempt == 1
                ? .status(429, body: "rate limited", headers: ["Retry-After": "0"]) : .content(good)
        }
        if has("s7") { return .status(400, body: "context length exceeded") }
        if has("s8") { return request.attempt == 1 ? .drop : .content(good) }
        if has("s9") {
            return .content(
                critique("Mixed.", good: ["THE CAT  \u{201C}MISO\u{201D}"], poor: ["a dog in Rome", "in May"]))
        }
        return .status(404, body: "unknown item")
    }

    func items(_ ids: [String]) throws -> String {
        try jsonl(
            ids.map { id in
                id == "s9"
                    ? summaryItem(id, response: "Summary s9: the cat \"Miso\" moved to Berlin in May.")
                    : summaryItem(id)
            })
    }

    @Test func fullRunCoversTheFaultCases() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start(Self.script)
        let input = try directory.write("in.jsonl", try items((1...9).map { "s\($0)" }))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.endpoint.concurrency = 4
        let summary = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()

        let records = try readJSONL(config.output)
        let failures = try readJSONL(config.failuresPath)
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0["id"] as! String, $0) })
        #expect(Set(byID.keys) == ["s1", "s2", "s3", "s5", "s6", "s8", "s9"])
        #expect(
            Dictionary(uniqueKeysWithValues: failures.map { ($0["id"] as! String, $0["kind"] as! String) })
                == ["s4": "parse", "s7": "http_4xx"])
        #expect(summary.records == 7)
        #expect(summary.failures == ["parse": 1, "http_4xx": 1])

        // A canned critique: exact spans with scalar offsets into the response.
        let s1 = try #require(byID["s1"])
        #expect(s1["task"] as? String == "summarization")
        #expect(s1["critique"] as? String == "Names the cat correctly but gets the month wrong.")
        let spans = try #require(s1["spans"] as? [[String: Any]])
        #expect(spans.map { $0["label"] as? String } == ["good_spans", "poor_spans"])
        #expect(spans.map { $0["match"] as? String } == ["exact", "exact"])
        #expect(spans.map { $0["score"] as? Double } == [1, -1])
        #expect(spans[0]["start"] as? Int == 12 && spans[0]["end"] as? Int == 24)  // after "Summary s1: "
        let teacher = try #require(s1["teacher"] as? [String: Any])
        #expect(teacher["model"] as? String == "gpt-4o-mini")
        #expect((teacher["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 100)

        // The re-ask: the raw first answer is kept and the follow-up names the problem.
        let s3 = try #require(byID["s3"])
        #expect(s3["raw_first"] as? String == "The summary is fine, nothing to add.")
        #expect(((s3["teacher"] as? [String: Any])?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 40)
        let reask = try #require(endpoint.requests.first { $0.userText.contains("Summary s3:") && $0.isReask })
        #expect(reask.messages[2]["content"] == "The summary is fine, nothing to add.")
        #expect(reask.messages[3]["content"]?.contains("contains no JSON object") == true)

        // Garbled twice: a parse failure with both raw answers kept.
        let s4 = try #require(failures.first { $0["id"] as? String == "s4" })
        #expect((s4["raw"] as? String)?.contains("unquoted") == true)
        #expect(s4["raw_first"] is String)
        #expect((s4["reason"] as? String)?.contains("after one re-ask") == true)

        // Retried transport faults leave a normal record that counts its attempts.
        #expect((byID["s5"]?["teacher"] as? [String: Any])?["attempts"] as? Int == 2)
        #expect((byID["s6"]?["teacher"] as? [String: Any])?["attempts"] as? Int == 2)
        #expect((byID["s8"]?["teacher"] as? [String: Any])?["attempts"] as? Int == 2)
        #expect(endpoint.requests.filter { $0.userText.contains("Summary s7:") }.count == 1)

        // Normalized and unmatched spans, and the run's unmatched rate.
        let s9 = try #require(byID["s9"]?["spans"] as? [[String: Any]])
        #expect(s9.map { $0["match"] as? String } == ["normalized", "unmatched", "exact"])
        #expect(s9[1]["start"] is NSNull)
        #expect(summary.spans == 15)
        #expect(summary.matches[.unmatched] == 1)
        #expect(abs(summary.unmatchedRate - 1.0 / 15.0) < 1e-9)
        // 200 answers: 8 items answered at least once, s3 and s4 twice → 10 × (100 + 20) tokens.
        #expect(summary.usage == TokenUsage(promptTokens: 1000, completionTokens: 200))
        #expect(summary.cost != nil)

        // The key is nowhere on disk; the resolved config is saved beside the output.
        for path in [config.output, config.failuresPath, config.output + ".config.yaml"] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(!text.contains("sk-test-key-0123456789"))
        }
        #expect(summary.report.contains("unmatched rate 6.67%"))
    }

    @Test func resumeSkipsWrittenIdsAndCutsATornLastLine() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start(Self.script)
        let ids = ["s1", "s2", "s3", "s5", "s6", "s9"]
        let input = try directory.write("in.jsonl", try items(ids))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.limit = 3
        let first = try await AnnotationRun(config: config, logger: quietLogger).execute()
        #expect(first.records == 3)

        // Without --resume an existing output is refused.
        config.limit = nil
        await #expect(throws: AnnotationError.outputExists(path: config.output)) {
            try await AnnotationRun(config: config, logger: quietLogger).execute()
        }

        // Simulate a kill in the middle of a write.
        let handle = try #require(FileHandle(forWritingAtPath: config.output))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"id": "s6", "task": "summ"#.utf8))
        handle.closeFile()
        let requestsBefore = endpoint.requests.count
        config.resume = true
        let second = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        #expect(second.truncatedBytes == 26)
        #expect(second.alreadyDone == 3)
        #expect(second.records == 3)
        let records = try readJSONL(config.output)
        #expect(records.map { $0["id"] as! String }.sorted() == ids.sorted())
        let resumedUsers = endpoint.requests[requestsBefore...].map(\.userText)
        for done in records.prefix(3).map({ $0["id"] as! String }) {
            #expect(!resumedUsers.contains { $0.contains("Summary \(done):") })
        }
    }

    @Test func retryFailedRetriesOnlyWhatFailed() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let broken = LockedFlag(true)
        let endpoint = try await ScriptedEndpoint.start { request in
            if request.userText.contains("Summary s2:") && broken.value { return .status(400, body: "bad request") }
            return await Self.script(request)
        }
        let input = try directory.write("in.jsonl", try items(["s1", "s2"]))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        let first = try await AnnotationRun(config: config, logger: quietLogger).execute()
        #expect(first.failures == ["http_4xx": 1])
        broken.value = false
        config.resume = true
        let resumed = try await AnnotationRun(config: config, logger: quietLogger).execute()
        #expect(resumed.attempted == 0)
        config.retryFailed = true
        let retried = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        #expect(retried.attempted == 1)
        #expect(retried.records == 1)
        #expect(try readJSONL(config.output).map { $0["id"] as! String }.sorted() == ["s1", "s2"])
        // The failures file drops the id that --retry-failed then annotated (the hardening issue's rule).
        #expect(try readJSONL(config.failuresPath).count == 0)
    }

    @Test func badInputLinesAreSkippedIntoTheFailuresFileOnce() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start(Self.script)
        let text = try jsonl([summaryItem("s1")]) + "{broken\n" + (try jsonl([summaryItem("s2")]))
        let input = try directory.write("in.jsonl", text)
        var config = testConfig(directory, input: input, endpoint: endpoint)
        await #expect(throws: AnnotationError.self) {
            try await AnnotationRun(config: config, logger: quietLogger).execute()
        }
        #expect(!FileManager.default.fileExists(atPath: config.output))
        config.badLines = .skip
        let summary = try await AnnotationRun(config: config, logger: quietLogger).execute()
        #expect(summary.records == 2)
        #expect(summary.failures == ["bad_input": 1])
        config.resume = true
        _ = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        let failures = try readJSONL(config.failuresPath)
        #expect(failures.count == 1)
        #expect(failures.first?["id"] as? String == "line 2")
        #expect((failures.first?["reason"] as? String)?.contains("in.jsonl:2") == true)
    }

    @Test func codeTaskRunsTheTestsAndShowsTheTeacher() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            let passed = request.userText.contains("All tests passed")
            let failed = request.userText.contains("The tests FAILED") && request.userText.contains("assert")
            guard passed || failed else { return .status(400, body: "no test result in the prompt") }
            let answer: [String: Any] = [
                "textual_feedback": passed ? "Correct." : "Subtracts instead of adding.",
                "wrong_code": passed ? [] : ["return a - b"], "improvement_code": [],
            ]
            let data = try! JSONSerialization.data(withJSONObject: answer)
            return .content(String(decoding: data, as: UTF8.self))
        }
        let tests = "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
        let input = try directory.write(
            "kodcode.json",
            String(
                decoding: try JSONSerialization.data(withJSONObject: [
                    [
                        "question_id": "ok", "question": "Add two numbers.",
                        "solution": "def add(a, b):\n    return a + b\n", "test": tests,
                    ],
                    [
                        "question_id": "bad", "question": "Add two numbers.",
                        "solution": "def add(a, b):\n    return a - b\n", "test": tests,
                    ],
                ]), as: UTF8.self))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.task = "code"
        let log = LogRecorder()
        let summary = try await AnnotationRun(config: config, logger: log.logger).execute()
        await endpoint.stop()
        #expect(summary.records == 2)
        // The start-up report of what the sandbox could use, a warning when any of it is missing.
        let isolation = SandboxIsolation.current
        let report = log.messages.filter { $0.message.hasPrefix("sandbox: ") }
        #expect(report.map(\.message) == [isolation.description])
        #expect(report.first?.level == (isolation.isComplete ? .notice : .warning))
        let byID = Dictionary(uniqueKeysWithValues: try readJSONL(config.output).map { ($0["id"] as! String, $0) })
        let ok = try #require(byID["ok"]?["execution"] as? [String: Any])
        let bad = try #require(byID["bad"]?["execution"] as? [String: Any])
        #expect(ok["passed"] as? Bool == true && ok["exit_code"] as? Int == 0 && ok["timed_out"] as? Bool == false)
        #expect(bad["passed"] as? Bool == false && bad["exit_code"] as? Int == 1)
        let spans = try #require(byID["bad"]?["spans"] as? [[String: Any]])
        #expect(spans.first?["label"] as? String == "wrong_code")
        #expect(spans.first?["score"] as? Double == -1)
        #expect(spans.first?["start"] as? Int == 19)  // after "def add(a, b):\n    "
    }

    @Test func customTaskFromYAML() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            guard request.userText.hasPrefix("Headline for: Post h1") else {
                return .status(400, body: "template not used")
            }
            return .content(critique("Punchy.", good: ["Cat conquers Berlin"], keys: ("praise", "blame")))
        }
        let task = try directory.write(
            "task.yaml",
            """
            name: headline
            template: "Headline for: {prompt}\\nHeadline: {response}"
            labels:
              - {name: praise, score: 0.5}
              - {name: blame, score: -2}
            """)
        let input = try directory.write(
            "in.jsonl", try jsonl([["id": "h1", "prompt": "Post h1", "response": "Cat conquers Berlin"]]))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.task = task
        let summary = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        #expect(summary.records == 1)
        let record = try #require(try readJSONL(config.output).first)
        #expect(record["task"] as? String == "headline")
        let span = try #require((record["spans"] as? [[String: Any]])?.first)
        #expect(span["label"] as? String == "praise" && span["score"] as? Double == 0.5 && span["end"] as? Int == 19)
    }
}

/// A Bool shared between a test and its endpoint script.
// Unchecked Sendable: its value is read and written under its lock.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool

    init(_ value: Bool) { stored = value }

    var value: Bool {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

@Suite("Systematic failures")
struct SystematicFailureTests {
    @Test func aWrongKeyStopsTheRunEarlyAndRetryFailedFinishesIt() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let keyValid = LockedFlag(false)
        let endpoint = try await ScriptedEndpoint.start { _ in
            keyValid.value ? .content(critique("ok", good: ["the cat Miso"])) : .status(401, body: "invalid key")
        }
        let input = try directory.write("in.jsonl", try jsonl((0..<40).map { summaryItem("w\($0)") }))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.endpoint.concurrency = 2
        config.abortAfter = 10
        do {
            _ = try await AnnotationRun(config: config, logger: quietLogger).execute()
            Issue.record("40 items failing with 401 must stop the run")
        } catch let AnnotationError.endpointFailing(items, kind, reason) {
            #expect(items == 10 && kind == "http_4xx" && reason.contains("401"))
        }
        let failed = try readJSONL(config.failuresPath).map { $0["id"] as! String }
        #expect(failed.count >= 10 && failed.count < 40)
        #expect(Set(failed).count == failed.count)
        #expect(endpoint.requests.count < 20)
        keyValid.value = true
        config.retryFailed = true
        let summary = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        #expect(summary.records == 40)
        #expect(Set(try readJSONL(config.output).map { $0["id"] as! String }).count == 40)
    }

    @Test func aNonsenseTeacherEndsWithParseFailuresNotACrash() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            .content(request.isReask ? "}}{{ ,,, the the the" : "lorem ipsum dolor {sit amet")
        }
        let input = try directory.write("in.jsonl", try jsonl((0..<15).map { summaryItem("n\($0)") }))
        var config = testConfig(directory, input: input, endpoint: endpoint)
        config.endpoint.concurrency = 3
        let summary = try await AnnotationRun(config: config, logger: quietLogger).execute()
        await endpoint.stop()
        #expect(summary.records == 0)
        #expect(summary.failures == ["parse": 15])
        #expect(endpoint.requests.count == 30)
        let failures = try readJSONL(config.failuresPath)
        #expect(failures.allSatisfy { $0["raw"] as? String == "}}{{ ,,, the the the" })
        #expect(failures.allSatisfy { $0["raw_first"] as? String == "lorem ipsum dolor {sit amet" })
    }
}
