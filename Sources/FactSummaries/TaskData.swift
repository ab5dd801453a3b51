import Common
import Foundation
import JSON

/// The two splits of the task; their posts come from separate random streams.
public enum Split: String, CaseIterable, Sendable, Codable {
    case train
    case eval
}

/// Everything that decides the task's data: the same options give byte-identical files.
public struct FactTaskOptions: Sendable, Equatable {
    /// The seed of every random choice.
    public var seed: UInt64 = 0
    /// Items in the train split.
    public var trainCount = 2000
    /// Items in the eval split.
    public var evalCount = 200
    /// How posts are drawn.
    public var post = PostOptions()
    /// How imperfect summaries are drawn.
    public var imperfect = ImperfectOptions()

    /// The defaults: 2000 train and 200 eval items from seed 0.
    public init() {}

    /// The item count of `split`.
    public func count(_ split: Split) -> Int { split == .train ? trainCount : evalCount }

    /// Checks every option.
    public func validate() throws {
        for (name, value) in [("train count", trainCount), ("eval count", evalCount)]
        where !(0...1_000_000).contains(value) {
            throw FactTaskError.badOption("\(name) must lie in 0...1000000, got \(value)")
        }
        try post.validate()
        try imperfect.validate()
    }
}

/// One item of the task: a post, its reference summary and an imperfect summary of it.
public struct FactItem: Sendable, Equatable {
    /// "train-000042", "eval-000007".
    public var id: String
    /// The split it belongs to.
    public var split: Split
    /// The post.
    public var post: Post
    /// The correct summary.
    public var reference: String
    /// A summary with mistakes (`imperfect.errors` says which).
    public var imperfect: Summary
}

/// The built-in fact-summary task: data generation and the files the pipeline reads.
public enum FactTask {
    /// What the policy is asked; `policyPrompt` puts the post after it.
    public static let instruction = "Summarize the post in one sentence."

    /// The user turn a policy answers with a summary of `post`.
    public static func policyPrompt(post: String) -> String { instruction + "\n\n" + post }

    /// Item `index` of `split`; it depends only on the seed, the split, the index and the options.
    public static func item(_ split: Split, index: Int, options: FactTaskOptions) throws -> FactItem {
        try options.validate()
        return try PostGenerator(options: options.post).item(split, index: index, options: options)
    }

    /// Every item of `split`, in index order.
    public static func items(_ split: Split, options: FactTaskOptions) throws -> [FactItem] {
        try options.validate()
        let generator = try PostGenerator(options: options.post)
        return try (0..<options.count(split)).map { try generator.item(split, index: $0, options: options) }
    }

    /// A task-data line as `annotate` reads it: `id`, `prompt` (the post), `response` (the imperfect
    /// summary), `reference`, plus `facts` and `mistakes` for inspection (readers ignore them).
    public static func taskLine(_ item: FactItem) -> String {
        let facts = item.post.facts.slots.map { slot in
            "\(JSONValue.quoted(slot.rawValue)): \(JSONValue.quoted(item.post.facts[slot]!))"
        }
        let mistakes = item.imperfect.errors.map { error in
            JSONValue.quoted(error.kind.rawValue + (error.slot.map { ":" + $0.rawValue } ?? ""))
        }
        return "{\"id\": \(JSONValue.quoted(item.id)), \"prompt\": \(JSONValue.quoted(item.post.text)), "
            + "\"response\": \(JSONValue.quoted(item.imperfect.text)), "
            + "\"reference\": \(JSONValue.quoted(item.reference)), "
            + "\"facts\": {\(facts.joined(separator: ", "))}, \"mistakes\": [\(mistakes.joined(separator: ", "))]}"
    }

    /// A policy prompt line as `train-policy` reads it: `id` and `prompt` (the instruction and the post).
    public static func promptLine(_ item: FactItem) -> String {
        "{\"id\": \(JSONValue.quoted(item.id)), \"prompt\": \(JSONValue.quoted(policyPrompt(post: item.post.text)))}"
    }

    /// An SFT line: the policy prompt and a completion.
    public static func sftLine(post: String, completion: String) -> String {
        "{\"prompt\": \(JSONValue.quoted(policyPrompt(post: post))), \"completion\": \(JSONValue.quoted(completion))}"
    }

    /// The files `write` produces, each with what it holds.
    public static let files: [(name: String, holds: String)] = [
        ("train.jsonl", "task data (id, prompt = post, response = imperfect summary, reference) to annotate"),
        ("eval.jsonl", "held-out task data"),
        ("sft-imperfect.jsonl", "prompt/completion: the policy prompt and an imperfect summary (train split)"),
        ("sft-reference.jsonl", "prompt/completion: the policy prompt and the reference summary (train split)"),
        ("prompts-train.jsonl", "id/prompt: the policy prompt of each train post, for train-policy"),
        ("prompts-eval.jsonl", "id/prompt: the policy prompt of each eval post, for held-out evaluation"),
        ("corpus.txt", "one text a line: posts, prompts, summaries and teacher answers, for tokenizer training"),
    ]

    /// Writes every file of `files` into `directory` (created if needed); returns the line count of each.
    @discardableResult
    public static func write(options: FactTaskOptions, teacher: FactTeacher = FactTeacher(), to directory: String)
        throws -> [String: Int]
    {
        try options.validate()
        let train = try items(.train, options: options)
        let eval = try items(.eval, options: options)
        var contents: [String: [String]] = [:]
        contents["train.jsonl"] = train.map(taskLine)
        contents["eval.jsonl"] = eval.map(taskLine)
        contents["sft-imperfect.jsonl"] = train.map { sftLine(post: $0.post.text, completion: $0.imperfect.text) }
        contents["sft-reference.jsonl"] = train.map { sftLine(post: $0.post.text, completion: $0.reference) }
        contents["prompts-train.jsonl"] = train.map(promptLine)
        contents["prompts-eval.jsonl"] = eval.map(promptLine)
        var corpus: [String] = []
        for item in train {
            corpus.append(policyPrompt(post: item.post.text).replacingOccurrences(of: "\n\n", with: " "))
            corpus.append(item.reference)
            corpus.append(item.imperfect.text)
            corpus.append(teacher.review(item.post.facts, summary: item.imperfect.text).json)
        }
        contents["corpus.txt"] = corpus
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FactTaskError.io(path: directory, detail: "cannot create it (\(error.localizedDescription))")
        }
        var counts: [String: Int] = [:]
        for (name, _) in files {
            let lines = contents[name] ?? []
            let path = (directory as NSString).appendingPathComponent(name)
            let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw FactTaskError.io(path: path, detail: "cannot write (\(writeFailure(error)))")
            }
            counts[name] = lines.count
        }
        return counts
    }
}

extension PostGenerator {
    /// Item `index` of `split`: its own random stream, so items do not depend on one another.
    func item(_ split: Split, index: Int, options: FactTaskOptions) throws -> FactItem {
        var rng = TaskRandom(seed: options.seed, stream: split == .train ? 1 : 2, index: index)
        let post = self.post(using: &rng)
        let imperfect = Summaries.imperfect(post, options: options.imperfect, using: &rng)
        let id = split.rawValue + "-" + String(format: "%06d", index)
        let reference = Summaries.reference(post.facts)
        return FactItem(id: id, split: split, post: post, reference: reference, imperfect: imperfect)
    }
}
