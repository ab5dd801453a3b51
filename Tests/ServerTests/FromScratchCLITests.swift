import AsyncHTTPClient
import Common
import Foundation
import Generation
import Models
import NIOCore
import Testing
import Tokenizers

/// The built-in task's commands, run as the built executable: data, a tokenizer and a model from nothing,
/// and the teacher endpoint.
@Suite(.serialized) struct FromScratchCLITests {
    @Test("facts → train-tokenizer → init-model: a chat model of the task's own vocabulary that loads, runs")
    func modelFromScratch() throws {
        let cli = CLITests()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (data, tok, first, second) = (root + "/data", root + "/tokenizer", root + "/m1", root + "/m2")
        var (status, _, stderr) = try cli.run(["facts", "-o", data, "--train", "150", "--eval", "10", "--seed", "2"])
        #expect(status == 0 && stderr.contains("train.jsonl 150"), "\(stderr)")
        (status, _, stderr) = try cli.run(
            ["train-tokenizer", "--corpus", data + "/corpus.txt", "--vocab-size", "512", "-o", tok])
        #expect(status == 0 && stderr.contains("trained 512 tokens"), "\(stderr)")
        for directory in [first, second] {
            (status, _, stderr) = try cli.run(
                ["init-model", "--shape", "demo-tiny", "--tokenizer", tok, "-o", directory, "--seed", "3"])
            #expect(status == 0 && stderr.contains("vocabulary 512"), "\(stderr)")
        }
        for name in ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                     "tokenizer_config.json"] {
            let a = FileManager.default.contents(atPath: first + "/" + name)
            #expect(a != nil && a == FileManager.default.contents(atPath: second + "/" + name), "\(name)")
        }
        (status, _, stderr) = try cli.run(["init-model", "--shape", "demo-tiny", "--tokenizer", tok, "-o", first])
        #expect(status != 0 && stderr.contains("--overwrite"))
        (status, _, stderr) = try cli.run(["init-model", "--shape", "nope", "--tokenizer", tok, "-o", root + "/m3"])
        #expect(status != 0 && stderr.contains("demo-tiny"))

        let model = try LlamaModel(directory: first)
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: first))
        #expect(model.config.vocabSize == tokenizer.vocabSize && model.config.eosTokenIds == [tokenizer.eosTokenId!])
        let prompt = try tokenizer.chatPromptIds([ChatMessage(role: "user", content: "Summarize the post.")])
        var parameters = SamplingParameters()
        parameters.maxNewTokens = 4
        let request = GenerationRequest(promptIds: prompt, parameters: parameters)
        let result = try Generator(model: model, tokenizer: tokenizer).generate([request])
        #expect(result[0].tokenIds.count <= 4 && result[0].logprobs.allSatisfy(\.isFinite))
    }

    @Test("serve --teacher builtin: no model, prints its port, serves 'builtin-teacher'; refuses --model beside it")
    func serveTeacher() async throws {
        let executable = try #require(CLITests.executable, "build the text2grad executable first")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--teacher", "builtin", "--port", "0"]
        process.environment = ["PATH": "/usr/bin:/bin"]
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
        let client = HTTPClient.shared
        let response = try await client.execute(HTTPClientRequest(url: url + "/models"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        process.terminate()
        process.waitUntilExit()
        #expect(response.status.code == 200 && String(buffer: body).contains("\"builtin-teacher\""))
        let (status, _, stderr) = try CLITests().run(["serve", "--teacher", "builtin", "--model", "/tmp"])
        #expect(status != 0 && stderr.contains("drop --model"))
    }
}
