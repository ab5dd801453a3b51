import Foundation
import JSON
import Testing
import TestSupport

@testable import CodeSandbox
@testable import Evaluation

/// Runs the built `text2grad` with `arguments`; stdout and stderr go to files (no pipe to fill and stall).
func runEval(_ arguments: [String], timeout: Double = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    let finished = try launch(try requireText2grad(), arguments, timeout: timeout)
    return (finished.status, finished.stdout, finished.stderr)
}

@Suite("text2grad eval (executable)", .serialized)
struct EvalCLITests {
    @Test("eval code --reference passes a healthy task file; planted samples fail; exit 2 for a bad reference")
    func code() throws {
        let healthy = try runEval(["eval", "code", "--tasks", CodeFixture.path("mbpp-mini.jsonl"), "--reference"])
        #expect(healthy.status == 0, "\(healthy.stderr)")
        // The sandbox report, as annotate --task code prints it: this machine's namespaces and process limit.
        #expect(healthy.stderr.contains(SandboxIsolation.current.description), "\(healthy.stderr)")
        #expect(healthy.stderr.contains("sandbox: pid namespace "))
        let summary = try JSONValue.parse(healthy.stdout)
        #expect(summary["pass_at_k"]?["pass@1"]?.numberValue == 1 && summary["samples"]?.intValue == 4)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let broken = directory.appendingPathComponent("broken.jsonl").path
        let line = #"{"task_id": 1, "text": "t", "code": "def f():\n    return 2", "test_list": ["assert f() == 1"]}"#
        try (line + "\n").write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try runEval(["eval", "code", "--tasks", broken, "--reference"])
        #expect(bad.status == 2 && bad.stderr.contains("reference solutions that fail: 1"), "\(bad.stderr)")

        let results = directory.appendingPathComponent("results.jsonl").path
        let samples = try runEval([
            "eval", "code", "--tasks", CodeFixture.path("mbpp-sanitized-mini.json"), "--samples",
            CodeFixture.path("mbpp-sanitized-samples.jsonl"), "--output", results, "--memory-mb", "256",
        ])
        #expect(samples.status == 0, "\(samples.stderr)")
        #expect(try JSONValue.parse(samples.stdout)["passed"]?.intValue == 3)
        let again = try runEval(["eval", "code", "--tasks", broken, "--reference", "--output", results])
        #expect(again.status != 0 && again.stderr.contains("--resume"))
    }

    @Test("eval summarization: per-example lines and the summary with the BLEU signature")
    func summarization() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let predictions = directory.appendingPathComponent("p.jsonl").path
        try """
        {"id": "a", "prediction": "the cat sat on the mat", "reference": "the cat sat on a mat"}
        {"id": "b", "prediction": "dogs are running", "references": ["dogs run", "the dog is running"]}

        """.write(toFile: predictions, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("per.jsonl").path
        let run = try runEval(["eval", "summarization", "--predictions", predictions, "--output", output])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONValue.parse(run.stdout)
        #expect(summary["examples"]?.intValue == 2)
        #expect(
            summary["bleu"]?["signature"]?.stringValue == "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
        )
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONValue.parse(String(lines[0]))
        #expect(first["id"]?.stringValue == "a" && first["rouge"]?["rouge1"]?["recall"]?.numberValue == 5.0 / 6)
    }
}
