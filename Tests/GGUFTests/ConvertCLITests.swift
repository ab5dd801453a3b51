import Foundation
import GGUF
import Models
import Testing
import TestSupport

/// `text2grad convert` and a GGUF file given as `--model`, run as the built executable.
@Suite(.serialized) struct ConvertCLITests {
    static var executable: URL? { text2gradExecutable() }

    /// Runs the command to completion: (status, stdout, stderr).
    func run(_ arguments: [String], cache: String) throws -> (Int32, String, String) {
        let executable = try #require(Self.executable, "build the text2grad executable first")
        let finished = try launch(executable, arguments, environment: ["PATH": "/usr/bin:/bin", "TEXT2GRAD_CACHE": cache])
        return (finished.status, finished.stdout, finished.stderr)
    }

    @Test func convertsBothWaysAndScoresAGGUFModel() throws {
        let scratch = try ScratchDirectory()
        let cache = scratch.path + "/cache", directory = scratch.path + "/model", back = scratch.path + "/back.gguf"
        var (status, _, stderr) = try run(
            ["convert", "gguf", GGUFFixtures.path("tiny-f16.gguf"), "-o", directory, "--dtype", "bf16"], cache: cache)
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("16 F16, 5 F32"), "\(stderr)")
        #expect(try LlamaConfig(directory: directory).vocabSize == 900)
        (status, _, stderr) = try run(["convert", "hf", directory, "-o", back, "--type", "q8_0"], cache: cache)
        #expect(status == 0, "\(stderr)")
        #expect(try GGUFFile(path: back).info("blk.0.ffn_up.weight")?.type == .q8_0)

        // The GGUF file as --model: converted into the cache once, scored like its directory.
        let input = scratch.path + "/in.jsonl"
        try Data("{\"ids\": [1, 17, 200, 33]}\n".utf8).write(to: URL(fileURLWithPath: input))
        let fromFile = try run(["score", "--model", back, "--input", input, "--threads", "1"], cache: cache)
        #expect(fromFile.0 == 0 && fromFile.2.contains("gguf: converting"), "\(fromFile.2)")
        let again = try run(["score", "--model=" + back, "--input", input, "--threads", "1"], cache: cache)
        #expect(again.0 == 0 && !again.2.contains("converting") && again.1 == fromFile.1, "\(again.2)")
        #expect(fromFile.1.contains("\"logprobs\""))

        (status, _, stderr) = try run(["convert", "hf", directory, "-o", back, "--type", "q4_0"], cache: cache)
        #expect(status != 0 && stderr.contains("--type"), "\(stderr)")
        let broken = scratch.path + "/broken.gguf"
        try Data("GGUF\u{3}\0\0\0".utf8).write(to: URL(fileURLWithPath: broken))
        (status, _, stderr) = try run(["score", "--model", broken, "--input", input], cache: cache)
        #expect(status != 0 && stderr.contains(broken) && stderr.contains("truncated"), "\(stderr)")
    }
}
