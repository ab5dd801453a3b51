import Common
import AsyncHTTPClient
import Foundation
import Generation
import NIOCore
import Testing
import TestSupport
import Tokenizers

/// The `text2grad generate` and `text2grad serve` commands, run as the built executable.
@Suite(.serialized) struct CLITests {
    /// The executable `swift test` built beside the test bundle.
    static var executable: URL? { text2gradExecutable() }

    /// Runs the command to completion and returns (status, stdout, stderr).
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
        let executable = try #require(Self.executable, "build the text2grad executable first")
        let finished = try launch(executable, arguments, environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 })
        return (finished.status, finished.stdout, finished.stderr)
    }

    @Test("generate --prompt streams the greedy chat answer the library gives")
    func generatePrompt() throws {
        let (status, stdout, stderr) = try run([
            "generate", "--model", Fixtures.chatModelDirectory, "--prompt", "Hello there", "--max-tokens", "12", "--threads", "1",
        ])
        #expect(status == 0, "\(stderr)")
        let tokenizer = Fixtures.chat.tokenizer
        var p = SamplingParameters()
        p.maxNewTokens = 12
        let ids = try tokenizer.chatPromptIds([ChatMessage(role: "user", content: "Hello there")])
        let expected = try Generator(model: Fixtures.chat.model, tokenizer: tokenizer).generate([GenerationRequest(promptIds: ids, parameters: p)])[0]
        #expect(stdout == expected.text + "\n")
        #expect(stderr.contains("\(expected.tokenIds.count) tokens"))
    }

    @Test("generate --input: one JSON line per prompt or conversation, ids passed through; bad lines name their line")
    func generateInput() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-generate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        try """
            {"id": "a", "prompt": "The cat"}
            {"id": "b", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
            {"id": "c", "prompt": "x"}

            """.write(toFile: input, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("out.jsonl").path
        let (status, _, stderr) = try run([
            "generate", "--model", Fixtures.chatModelDirectory, "--input", input, "--output", output, "--max-tokens", "6",
            "--temperature", "0.8", "--seed", "3", "--batch-size", "2",
        ])
        #expect(status == 0, "\(stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(lines.map { $0["id"] as? String } == ["a", "b", "c"])
        for line in lines {
            let tokens = line["tokens"] as? [Int] ?? []
            #expect(!tokens.isEmpty && tokens.count <= 6)
            #expect((line["logprobs"] as? [Double])?.count == tokens.count)
            #expect(line["completion"] is String && ["stop", "length"].contains(line["finish_reason"] as? String ?? ""))
        }
        try "{\"nothing\": 1}\n".write(toFile: input, atomically: true, encoding: .utf8)
        let (bad, _, message) = try run(["generate", "--model", Fixtures.chatModelDirectory, "--input", input])
        #expect(bad != 0 && message.contains(":1:"))
    }

    @Test("serve binds 127.0.0.1, prints its port, takes the key from the environment and never prints it")
    func serveCommand() async throws {
        let executable = try #require(Self.executable, "build the text2grad executable first")
        let key = "sk-env-key-4242"
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--model", Fixtures.chatModelDirectory, "--port", "0", "--threads", "1"]
        process.environment = ["PATH": "/usr/bin:/bin", "TEXT2GRAD_API_KEY": key]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var banner = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !banner.contains("/v1") {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { try await Task.sleep(nanoseconds: 20_000_000) }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let match = banner.range(of: #"http://127\.0\.0\.1:(\d+)/v1"#, options: .regularExpression)
        let url = try #require(match.map { String(banner[$0]) }, "banner: \(banner)")
        #expect(!banner.contains(key))
        let client = HTTPClient.shared
        var request = HTTPClientRequest(url: url + "/models")
        let refused = try await client.execute(request, timeout: .seconds(10))
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let accepted = try await client.execute(request, timeout: .seconds(10))
        let body = try await accepted.body.collect(upTo: 1 << 16)
        process.terminate()
        process.waitUntilExit()
        #expect(refused.status.code == 401)
        #expect(accepted.status.code == 200)
        #expect(String(buffer: body).contains("\"chat-smollm\""))
    }
}
