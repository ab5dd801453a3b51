import FactSummaries
import Annotation
import Foundation
import Testing

/// The task's files: byte-identical for one seed, and readable by `annotate` and the SFT loader unchanged.
@Suite struct TaskDataTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-facts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func options() -> FactTaskOptions {
        var options = FactTaskOptions()
        options.trainCount = 120
        options.evalCount = 30
        options.seed = 7
        return options
    }

    @Test("the same options write byte-identical files; another seed writes other ones")
    func byteIdentical() throws {
        let (a, b, c) = try (Self.temporaryDirectory(), Self.temporaryDirectory(), Self.temporaryDirectory())
        defer { for url in [a, b, c] { try? FileManager.default.removeItem(at: url) } }
        let counts = try FactTask.write(options: Self.options(), to: a.path)
        try FactTask.write(options: Self.options(), to: b.path)
        var other = Self.options()
        other.seed = 8
        try FactTask.write(options: other, to: c.path)
        #expect(counts == ["train.jsonl": 120, "eval.jsonl": 30, "sft-imperfect.jsonl": 120,
                           "sft-reference.jsonl": 120, "prompts-train.jsonl": 120, "prompts-eval.jsonl": 30,
                           "corpus.txt": 480])
        for (name, _) in FactTask.files {
            let first = try Data(contentsOf: a.appendingPathComponent(name))
            #expect(first == (try Data(contentsOf: b.appendingPathComponent(name))), "\(name) differs between runs")
            #expect(first != (try Data(contentsOf: c.appendingPathComponent(name))), "\(name) ignores the seed")
        }
    }

    @Test("annotate's dataset reader takes the task data unchanged: ids, posts, summaries, references")
    func readableByAnnotate() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FactTask.write(options: Self.options(), to: directory.path)
        let dataset = try DatasetReader.read(path: directory.appendingPathComponent("train.jsonl").path, policy: .fatal)
        let items = try FactTask.items(.train, options: Self.options())
        #expect(dataset.rejected.isEmpty && dataset.items.count == items.count)
        for (read, item) in zip(dataset.items, items) {
            #expect(read.id == item.id && read.prompt == item.post.text && read.response == item.imperfect.text)
            #expect(read.reference == item.reference)
        }
        let first = try String(contentsOf: directory.appendingPathComponent("train.jsonl"), encoding: .utf8)
            .split(separator: "\n")[0]
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        let keys = Array((object["facts"] as? [String: String] ?? [:]).keys).sorted()
        #expect(keys == items[0].post.facts.slots.map(\.rawValue).sorted())
    }

    @Test("SFT lines hold the policy prompt and a completion; the corpus holds posts, summaries and answers")
    func sftAndCorpus() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FactTask.write(options: Self.options(), to: directory.path)
        let items = try FactTask.items(.train, options: Self.options())
        for (name, completion) in [("sft-imperfect.jsonl", items.map(\.imperfect.text)),
                                   ("sft-reference.jsonl", items.map(\.reference))] {
            let lines = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n")
            #expect(lines.count == items.count)
            for (line, (item, expected)) in zip(lines, zip(items, completion)) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                #expect(object == ["prompt": FactTask.policyPrompt(post: item.post.text), "completion": expected])
            }
        }
        let prompts = try String(contentsOf: directory.appendingPathComponent("prompts-eval.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let eval = try FactTask.items(.eval, options: Self.options())
        for (line, item) in zip(prompts, eval) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            #expect(object == ["id": item.id, "prompt": FactTask.policyPrompt(post: item.post.text)])
        }
        let corpus = try String(contentsOf: directory.appendingPathComponent("corpus.txt"), encoding: .utf8)
        #expect(corpus.contains(items[0].post.text) && corpus.contains("{\"textual_feedback\":"))
        #expect(!corpus.contains("\n\n"), "one text a line")
    }
}
