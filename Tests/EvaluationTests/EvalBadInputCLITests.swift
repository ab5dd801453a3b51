import Foundation
import JSON
import Testing
import TestSupport

/// `eval summarization` on predictions files a user could hand it by mistake, and input paths that are pipes, run as
/// the user runs them.
@Suite("text2grad bad input and pipes (executable)", .serialized)
struct EvalBadInputCLITests {
    static let good = #"{"id": "a", "prediction": "the cat sat", "reference": "the cat sat down"}"# + "\n"

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-bad-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("eval summarization refuses wrong types, bad text, repeated ids and an empty file, naming line and field")
    func summarizationRefusesBadRecords() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(Data, [String])] = [
            (Data((Self.good + #"{"id": "b", "prediction": 42, "reference": "x"}"#).utf8),
             [":2", "field 'prediction'", "expected a string, found a number"]),
            (Data((Self.good + #"{"id": "b", "prediction": "x", "reference": 7}"#).utf8),
             [":2", "field 'reference'", "expected a string, found a number"]),
            (Data((Self.good + #"{"id": "b", "prediction": "x", "references": ["y", 3]}"#).utf8),
             [":2", "field 'references'", "list of strings"]),
            (Data(Self.good.utf8) + Data(#"{"id": "b", "prediction": "caf"#.utf8) + Data([0xE9])
                + Data(#"", "reference": "x"}"#.utf8), [":2", "field 'prediction'", "not valid UTF-8"]),
            (Data((Self.good + #"{"id": "b", "prediction": "x\uD800y", "reference": "x"}"#).utf8),
             [":2", "field 'prediction'", "lone surrogate"]),
            (Data((Self.good + #"{"id": "b", "prediction": "x", "reference": "\uDC00"}"#).utf8),
             [":2", "field 'reference'", "lone surrogate"]),
            (Data((Self.good + Self.good).utf8), [":2", "field 'id'", "also on line 1"]),
            (Data((Self.good + #"{"id": ["a"], "prediction": "x", "reference": "y"}"#).utf8),
             [":2", "field 'id'", "expected a string or an integer"]),
            (Data("\n\n".utf8), ["no predictions"]),
        ]
        for (index, (contents, mentions)) in cases.enumerated() {
            let path = directory.appendingPathComponent("p\(index).jsonl").path
            try contents.write(to: URL(fileURLWithPath: path))
            let run = try runEval(["eval", "summarization", "--predictions", path])
            #expect(run.status == 1, "case \(index): \(run.stderr)")
            for text in [path] + mentions {
                #expect(run.stderr.contains(text), "case \(index): \(text) in \(run.stderr)")
            }
            #expect(run.stdout.isEmpty, "case \(index): no summary")
        }
    }

    @Test("eval summarization accepts integer ids and the escaped pair of a character outside the BMP")
    func summarizationAcceptsIntegerIdsAndSurrogatePairs() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("p.jsonl").path
        try #"{"id": 1, "prediction": "smile \uD83D\uDE00", "reference": "smile \uD83D\uDE00"}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let run = try runEval(["eval", "summarization", "--predictions", path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try JSONValue.parse(run.stdout)["examples"]?.intValue == 1)
    }

    /// `--predictions /dev/stdin` from a pipe, a process substitution, and `tokenize --input /dev/stdin`: each reads
    /// the pipe to its end (they failed with "You don't have permission" or read nothing).
    @Test("paths that are pipes: /dev/stdin and process substitution")
    func pipesWorkWhereAPathIsRead() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let predictions = directory.appendingPathComponent("p.jsonl").path
        try Self.good.write(toFile: predictions, atomically: true, encoding: .utf8)
        let tool = try executable()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let tokenizer = root.appendingPathComponent("Fixtures/models/chat-smollm").path
        let scripts = [
            "cat '\(predictions)' | '\(tool)' eval summarization --predictions /dev/stdin",
            "'\(tool)' eval summarization --predictions <(cat '\(predictions)')",
            "printf 'hello world\\n' | '\(tool)' tokenize --tokenizer '\(tokenizer)' --input /dev/stdin",
            "'\(tool)' tokenize --tokenizer '\(tokenizer)' --input <(printf 'hello world\\n')",
        ]
        for script in scripts {
            let (status, stdout, stderr) = try bash(script)
            #expect(status == 0, "\(script): \(stderr)")
            if script.contains("summarization") {
                #expect(try JSONValue.parse(stdout)["examples"]?.intValue == 1, "\(script): \(stdout)")
            } else {
                #expect(try JSONValue.parse(stdout)["text"]?.stringValue == "hello world", "\(script): \(stdout)")
            }
        }
    }

    func executable() throws -> String {
        try #require(text2gradExecutable()).path
    }

    /// Runs `script` with bash; stdout and stderr go to files.
    func bash(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let finished = try launch(URL(fileURLWithPath: "/bin/bash"), ["-c", script])
        return (finished.status, finished.stdout, finished.stderr)
    }
}
