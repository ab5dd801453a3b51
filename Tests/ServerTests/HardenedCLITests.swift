import Foundation
import Testing

/// `score` and `tokenize` input checks, run as the built executable (issue 15).
@Suite(.serialized) struct HardenedCLITests {
    func run(_ arguments: [String]) throws -> (Int32, String, String) { try CLITests().run(arguments) }

    func temporaryFile(_ text: String, _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-cli-\(UUID().uuidString)-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("score refuses token ids that are not integers in the vocabulary, naming the line")
    func scoreIds() throws {
        for (line, reason) in [("{\"ids\": [1, 4294967301]}", "outside the vocabulary"), ("{\"ids\": [1, 2.5]}", "integer"),
                               ("{\"ids\": [1, true]}", "integer"), ("{\"ids\": [\"3\"]}", "integer")] {
            let input = try temporaryFile("{\"ids\": [1, 2, 3]}\n" + line + "\n", "score.jsonl")
            let (status, _, stderr) = try run(["score", "--model", Fixtures.chatModelDirectory, "--input", input, "--threads", "1"])
            #expect(status != 0, "\(line) was scored")
            #expect(stderr.contains(":2:") && stderr.contains(reason), "\(line): \(stderr)")
        }
    }

    @Test("tokenize reads JSONL, so a text may hold newlines")
    func tokenizeJSONL() throws {
        let input = try temporaryFile("{\"id\": \"a\", \"text\": \"two\\nlines\"}\n{\"text\": \"one\"}\n", "texts.jsonl")
        let (status, stdout, stderr) = try run(["tokenize", "--tokenizer", Fixtures.chatModelDirectory, "--input", input])
        #expect(status == 0, "\(stderr)")
        let records = stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        #expect(records.count == 2)
        #expect(records.first?["text"] as? String == "two\nlines")
        #expect(records.first?["id"] as? String == "a")
        let bad = try temporaryFile("{\"text\": 5}\n", "bad.jsonl")
        let (badStatus, _, badError) = try run(["tokenize", "--tokenizer", Fixtures.chatModelDirectory, "--input", bad])
        #expect(badStatus != 0 && badError.contains(":1:") && badError.contains("\"text\""), "\(badError)")
    }
}
