import Foundation
import TestSupport
import Testing

@testable import Annotation

/// `text2grad annotate` on input a user could hand it by mistake, run as the user runs it.
@Suite("text2grad annotate bad input (executable)", .serialized)
struct AnnotateBadInputCLITests {
    /// A repeated id under `--bad-lines skip`: the first item is annotated, the repeat is counted as `bad_input` and
    /// written to the failures file under its line (not under the id, whose record would drop it on compaction).
    @Test func repeatedIDIsSkippedAndWrittenToTheFailuresFile() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { _ in .content(critique("Fine.", good: ["the cat Miso"])) }
        let input = try directory.write(
            "in.jsonl", try jsonl([summaryItem("k1"), summaryItem("k2"), summaryItem("k1", response: "Again.")]))
        let output = directory.path("out.jsonl")
        let result = try runCLI(
            ["annotate", "--task", "summarization", "-i", input, "-o", output, "--base-url", endpoint.baseURL,
             "--bad-lines", "skip", "--concurrency", "1", "--progress", "plain"],
            environment: ["OPENAI_API_KEY": "sk-test"])
        await endpoint.stop()
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("bad_input 1"), "\(result.stderr)")
        #expect(try readJSONL(output).map { $0["id"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == ["k1", "k2"])
        let failures = try readJSONL(directory.path("out.failures.jsonl"))
        #expect(failures.count == 1)
        #expect(failures.first?["kind"] as? String == "bad_input")
        #expect(failures.first?["id"] as? String == "line 3")
        let reason = failures.first?["reason"] as? String ?? ""
        #expect(reason.contains(input + ":3") && reason.contains("duplicate id 'k1'"), "\(reason)")

        // Resuming neither annotates the repeat nor writes its failure twice.
        let again = try runCLI(
            ["annotate", "--task", "summarization", "-i", input, "-o", output, "--base-url", endpoint.baseURL,
             "--bad-lines", "skip", "--resume", "--progress", "plain"],
            environment: ["OPENAI_API_KEY": "sk-test"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try readJSONL(directory.path("out.failures.jsonl")).count == 1)
    }
}
