import Foundation
import TestSupport
import Testing

@testable import Annotation
@testable import Common
@testable import LLMClient
@testable import CodeSandbox

/// The built `text2grad annotate` as a user runs it: flags, config file, exit codes, SIGKILL and resume.
@Suite("text2grad annotate (executable)", .serialized)
struct CLITests {
    static let key = "sk-cli-secret-9f8e7d6c5b4a"

    @Test func runsFromAConfigFileKeepsTheKeySecretAndExitsTwoOnFailures() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            if request.userText.contains("Summary k1:") {
                return .status(401, body: "invalid api key \(request.authorization ?? "")")
            }
            return .content(critique("Fine.", good: ["the cat Miso"]))
        }
        let input = try directory.write(
            "in.jsonl", try jsonl([summaryItem("k1"), summaryItem("k2"), summaryItem("k3")]))
        let output = directory.path("out.jsonl")
        let config = try directory.write(
            "annotate.yaml",
            """
            task: summarization
            input: \(input)
            output: \(output)
            base_url: \(endpoint.baseURL)
            model: teacher-from-config
            concurrency: 1
            progress: plain
            """)
        let result = try runCLI(
            ["annotate", "--config", config, "--concurrency", "2", "--max-retries", "1"],
            environment: ["OPENAI_API_KEY": Self.key])
        await endpoint.stop()
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("2 records written, 1 failed"))
        #expect(result.stderr.contains("failures by kind: http_4xx 1"))
        #expect(result.stderr.contains("--retry-failed"))
        #expect(!result.stderr.contains(Self.key))
        #expect(endpoint.requests.allSatisfy { $0.authorization == "Bearer \(Self.key)" })
        #expect(endpoint.requests.allSatisfy { $0.body["model"] as? String == "teacher-from-config" })
        let records = try readJSONL(output)
        #expect(records.map { $0["id"] as! String }.sorted() == ["k2", "k3"])
        for path in [output, directory.path("out.failures.jsonl"), output + ".config.yaml"] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(!text.contains(Self.key), "\(path) leaks the key")
        }
        let resolved = try String(contentsOfFile: output + ".config.yaml", encoding: .utf8)
        #expect(resolved.contains("concurrency: 2"))
        #expect(
            try String(contentsOfFile: directory.path("out.failures.jsonl"), encoding: .utf8).contains("[redacted]"))
    }

    /// A key with `/`, `+`, a space and `"`, echoed by the endpoint verbatim, JSON-escaped (`\/`, `\"`) and
    /// URL-encoded, in a 200 answer and in 4xx error bodies, one of them with the key across the cut of the
    /// error snippet: no form of the key, nor its head, reaches out.jsonl, the failures file or stderr.
    @Test func keyWithSlashPlusSpaceAndQuoteIsRedactedEverywhere() async throws {
        let key = "sk-live-a/b+c d\"e-9f8e7d6c"
        let escaped = key.replacingOccurrences(of: "/", with: "\\/").replacingOccurrences(of: "\"", with: "\\\"")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = key.addingPercentEncoding(withAllowedCharacters: allowed)!
        let plus = encoded.replacingOccurrences(of: "%20", with: "+")
        let echo = "verbatim \(key) json \(escaped) url \(encoded) form \(plus)"
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            if request.userText.contains("Summary k1:") {
                // JSONSerialization writes `/` as `\/`, as many servers' error bodies do.
                let error = ["error": ["message": "bad key " + echo + " from " + (request.authorization ?? "")]]
                return .status(400, body: String(decoding: try! JSONSerialization.data(withJSONObject: error), as: UTF8.self))
            }
            if request.userText.contains("Summary k3:") {
                // The error snippet keeps 500 characters: the key starts 10 characters before the cut.
                return .status(403, body: String(repeating: "x", count: 490) + key)
            }
            return .content(critique("Fine. " + echo, good: ["the cat Miso"]))
        }
        let input = try directory.write(
            "in.jsonl", try jsonl([summaryItem("k1"), summaryItem("k2"), summaryItem("k3")]))
        let output = directory.path("out.jsonl")
        let result = try runCLI(
            ["annotate", "--task", "summarization", "-i", input, "-o", output, "--base-url", endpoint.baseURL,
             "--concurrency", "1", "--max-retries", "1", "--progress", "plain"],
            environment: ["OPENAI_API_KEY": key])
        await endpoint.stop()
        #expect(result.status == 2, "\(result.stderr)")
        #expect(endpoint.requests.allSatisfy { $0.authorization == "Bearer \(key)" })
        let records = try readJSONL(output)
        #expect(records.map { $0["id"] as! String } == ["k2"])
        let failures = try String(contentsOfFile: directory.path("out.failures.jsonl"), encoding: .utf8)
        #expect(failures.split(separator: "\n").count == 2)
        let texts = [("out.jsonl", try String(contentsOfFile: output, encoding: .utf8)), ("failures", failures),
                     ("stderr", result.stderr)]
        let forms = [key, escaped, key.replacingOccurrences(of: "\"", with: "\\\""), encoded, encoded.lowercased(), plus]
        for (name, text) in texts {
            for form in forms { #expect(!text.contains(form), "\(name) holds \(form)") }
            // Every form, and the head a cut leaves, starts so.
            #expect(!text.contains("sk-live-a"), "\(name) holds part of the key: \(text)")
        }
        #expect(texts[0].1.contains("[redacted]") && failures.contains("[redacted]"))
    }

    @Test func usageErrorsExitWithAMessage() throws {
        let missing = try runCLI(["annotate", "--output", "/tmp/x.jsonl"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no input file"))
        let conflicting = try runCLI(["annotate", "-i", "a", "-o", "b", "--resume", "--overwrite"])
        #expect(conflicting.status != 0)
        #expect(conflicting.stderr.contains("--overwrite cannot be combined"))
    }

    @Test func sigkillAtRandomMomentsThenResumeGivesEveryIDExactlyOnce() async throws {
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let endpoint = try await ScriptedEndpoint.start { request in
            .content(critique("Ok.", good: ["the cat Miso"], poor: ["in May"]), delay: Double.random(in: 0.01...0.05))
        }
        let ids = (0..<200).map { "id\($0)" }
        let input = try directory.write("in.jsonl", try jsonl(ids.map { summaryItem($0) }))
        let output = directory.path("out.jsonl")
        let arguments = [
            "annotate", "-i", input, "-o", output, "--base-url", endpoint.baseURL, "--model", "m",
            "--concurrency", "8", "--progress", "none",
        ]
        let environment = ["OPENAI_API_KEY": Self.key]
        var killedWithRecords: [Int] = []
        // For each run: the ids already on disk when it started, and the first request it sent.
        var starts: [(done: Set<String>, firstRequest: Int)] = []
        for round in 0..<3 {
            starts.append((Set(try readJSONL(output).map { $0["id"] as! String }), endpoint.requests.count))
            let process = try startCLI(arguments + (round == 0 ? [] : ["--resume"]), environment: environment)
            // Wait until records are being written, then kill at a random moment mid-stream.
            let deadline = Date().addingTimeInterval(60)
            while process.process.isRunning, Date() < deadline, (try? readLineCount(output)) ?? 0 < 5 + round * 30 {
                usleep(5_000)
            }
            usleep(UInt32.random(in: 0...150_000))
            guard process.process.isRunning else {
                let stderr = (try? String(contentsOfFile: process.stderrPath, encoding: .utf8)) ?? ""
                Issue.record("round \(round): the run ended before it could be killed; stderr: \(stderr)")
                try? FileManager.default.removeItem(atPath: process.stderrPath)
                break
            }
            kill(process.process.processIdentifier, SIGKILL)
            process.process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: process.stderrPath)
            #expect(process.process.terminationReason == .uncaughtSignal)
            killedWithRecords.append(try readLineCount(output))
        }
        starts.append((Set(try readJSONL(output).map { $0["id"] as! String }), endpoint.requests.count))
        let final = try runCLI(arguments + ["--resume"], environment: environment)
        await endpoint.stop()
        #expect(final.status == 0, "\(final.stderr)")

        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(data.last == UInt8(ascii: "\n"), "the output must end with a complete line")
        let records = try readJSONL(output)
        let written = records.map { $0["id"] as! String }
        #expect(written.count == 200)
        #expect(Set(written) == Set(ids))
        // A resumed run never asks again for an id that was on disk when it started. (An id in
        // flight at a kill is asked again: its answer was never written.)
        let requests = endpoint.requests
        for (done, firstRequest) in starts where !done.isEmpty {
            let asked = requests[firstRequest...].compactMap { request in
                done.first { request.userText.contains("Summary \($0):") }
            }
            #expect(asked.isEmpty, "resumed run re-asked \(asked.prefix(5))")
        }
        #expect(killedWithRecords.count == 3)
        #expect(killedWithRecords == killedWithRecords.sorted())
        print("kill/resume: records on disk at each SIGKILL: \(killedWithRecords); "
            + "\(endpoint.requests.count) requests for 200 ids")
    }
}

/// Complete lines in a file (0 if absent).
func readLineCount(_ path: String) throws -> Int {
    guard let data = FileManager.default.contents(atPath: path) else { return 0 }
    return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
}
