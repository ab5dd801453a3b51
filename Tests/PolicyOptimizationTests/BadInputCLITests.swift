import Foundation
import Testing
import TestSupport

/// Bad data files handed to `train-policy` and `sft` as a user would: each is refused before any step, with an
/// exit (never a signal) and a message naming the file, the line and the field.
@Suite(.serialized) struct BadInputCLITests {
    static let model = TrainPolicyKillTests.root.appendingPathComponent("Fixtures/models/chat-smollm").path

    /// Runs the tool to its end: its exit status (nil when a signal ended it), standard output and standard error.
    static func launch(_ arguments: [String]) throws -> (status: Int32?, stdout: String, stderr: String) {
        let finished = try TestSupport.launch(URL(fileURLWithPath: try TrainPolicyKillTests.executable()), arguments)
        return (finished.exitStatus, finished.stdout, finished.stderr)
    }

    /// Runs the tool; returns its exit status (nil when a signal ended it) and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32?, stderr: String) {
        let (status, _, stderr) = try launch(arguments)
        return (status, stderr)
    }

    static func expectRefused(_ arguments: [String], mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (status, stderr) = try run(arguments)
        #expect(status != nil && status != 0, "refused with an exit, not a crash: \(stderr)", sourceLocation: sourceLocation)
        for text in mentions {
            #expect(stderr.contains(text), "\(text) in: \(stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func trainPolicyRefusesBadPromptFiles() throws {
        let directory = NSTemporaryDirectory() + "bad-prompts-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(Data, [String])] = [
            (Data(), ["holds no prompts"]),
            (Data("\n  \n\n".utf8), ["holds no prompts"]),
            (Data([0xEF, 0xBB, 0xBF]), ["holds no prompts"]),
            (Data("{\"messages\":[{\"role\":\"user\"}]}\n".utf8), [":1:", "messages[0]", "content"]),
            (Data("{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}\n".utf8), [":1:", "role 'wizard'"]),
            (Data("{\"id\":5,\"prompt\":\"Hi\"}\n".utf8), [":1:", "\"id\" must be a string"]),
            (Data("{\"prompt\":7}\n".utf8), [":1:", "\"prompt\" must be a string"]),
            (Data("{\"id\":\"a\",\"prompt\":\"Hi\"}\n{\"id\":\"a\",\"prompt\":\"Ho\"}\n".utf8), [":2:", "also on line 1"]),
        ]
        for (index, (contents, mentions)) in cases.enumerated() {
            let path = directory + "/prompts-\(index).jsonl"
            try contents.write(to: URL(fileURLWithPath: path))
            try Self.expectRefused(["train-policy", "--model", Self.model, "--prompts", path, "--reward", "builtin",
                                    "--output", directory + "/run-\(index)", "--steps", "1", "--threads", "1"],
                                   mentions: [path] + mentions)
            #expect(!FileManager.default.fileExists(atPath: directory + "/run-\(index)/metrics.jsonl"), "no step ran")
        }
    }

    @Test func sftRefusesBadDataFiles() throws {
        let directory = NSTemporaryDirectory() + "bad-sft-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = "{\"prompt\":\"Hi\",\"completion\":\"Hello\"}\n"
        let cases: [(String, [String], [String])] = [
            (good + "{\"prompt_ids\":[1,2],\"target_ids\":[900]}\n", [], [":2:", "target_ids", "outside the vocabulary (0..<900)"]),
            (good + "{\"prompt_ids\":[-3],\"target_ids\":[5]}\n", [], [":2:", "prompt_ids", "outside the vocabulary"]),
            (good + "{\"messages\":[{\"role\":\"wizard\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n", [],
             [":2:", "role 'wizard'"]),
            ("{\"id\":\"x\",\"prompt\":\"a\",\"completion\":\"b\"}\n{\"id\":\"x\",\"prompt\":\"c\",\"completion\":\"d\"}\n", [],
             [":2:", "also on line 1"]),
        ]
        for (index, (contents, flags, mentions)) in cases.enumerated() {
            let path = directory + "/data-\(index).jsonl"
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
            try Self.expectRefused(["sft", "--model", Self.model, "--data", path, "--output", directory + "/run-\(index)",
                                    "--steps", "1", "--batch-size", "1", "--threads", "1"] + flags, mentions: mentions)
            #expect(!FileManager.default.fileExists(atPath: directory + "/run-\(index)/checkpoints"), "nothing trained")
        }
        // A max_length past the model's context cuts examples at the context, and says so.
        let path = directory + "/long.jsonl"
        try (good + good).write(toFile: path, atomically: true, encoding: .utf8)
        let (status, stderr) = try Self.run(["sft", "--model", Self.model, "--data", path, "--output", directory + "/long",
                                             "--steps", "1", "--batch-size", "1", "--threads", "1", "--max-length", "5000"])
        #expect(status == 0 && stderr.contains("'max_length' 5000 exceeds the model's context") && stderr.contains("cut at 4096"),
                "\(stderr)")
    }
}
