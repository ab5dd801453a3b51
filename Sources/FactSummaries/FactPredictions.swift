import Common
import Foundation
import JSON

/// One summary to check against the post it summarises, as `eval facts` reads it.
public struct FactPrediction: Sendable, Equatable {
    /// 1-based line in the predictions file.
    public var line: Int
    /// The post.
    public var post: String
    /// The summary.
    public var summary: String
}

/// Reading `eval facts` input: the predictions file and, optionally, the task data their ids are looked up in.
///
/// Checked before any summary is scored, each failure a `FileError.badLine` naming the file, the line and the field:
/// 1. every line is one JSON object (blank lines skipped) of valid UTF-8, as `JSONLines` reads;
/// 2. the summary is the first of `response`, `prediction`, `completion`, `text` present, and it is a string;
/// 3. `id`, when present, is a string; in the task file `id` and `prompt` are strings and ids are unique;
/// 4. the post is the task's `prompt` for the id, else the prediction's own string `prompt`;
/// 5. the predictions file holds at least one summary.
public enum FactPredictions {
    /// The fields a summary may be in, in the order they are looked for.
    public static let summaryFields = ["response", "prediction", "completion", "text"]

    /// The predictions of `path`, their posts found in `task` (a task data file) or in their own `prompt`.
    public static func read(path: String, task: String? = nil) throws -> [FactPrediction] {
        let posts = try task.map(readPosts(path:)) ?? [:]
        let predictions = try JSONLines.read(path: path).map { line -> FactPrediction in
            func bad(_ detail: String) -> FileError { .badLine(path: path, line: line.number, detail: detail) }
            let object = line.object
            guard let field = summaryFields.first(where: { object[$0] != nil }) else {
                throw bad("needs the summary in a string \"response\", \"prediction\", \"completion\" or \"text\"")
            }
            guard let summary = object[field]?.stringValue else { throw bad("\"\(field)\" must be a string") }
            if object["id"] != nil && object["id"]?.stringValue == nil { throw bad("\"id\" must be a string") }
            if object["prompt"] != nil && object["prompt"]?.stringValue == nil {
                throw bad("\"prompt\" must be a string")
            }
            guard let post = object["id"]?.stringValue.flatMap({ posts[$0] }) ?? object["prompt"]?.stringValue else {
                throw bad("needs the post in \"prompt\" or an \"id\" found in --task")
            }
            return FactPrediction(line: line.number, post: post, summary: summary)
        }
        if predictions.isEmpty { throw FileError.io(path: path, detail: "holds no summaries") }
        return predictions
    }

    /// The posts of a task data file by id.
    static func readPosts(path: String) throws -> [String: String] {
        var posts: [String: (post: String, line: Int)] = [:]
        for line in try JSONLines.read(path: path) {
            guard let id = line.object["id"]?.stringValue, let post = line.object["prompt"]?.stringValue else {
                throw FileError.badLine(
                    path: path, line: line.number, detail: "needs string fields \"id\" and \"prompt\"")
            }
            if let first = posts.updateValue((post, line.number), forKey: id) {
                throw FileError.badLine(
                    path: path, line: line.number, detail: "id '\(id.prefix(60))' is also on line \(first.line)")
            }
        }
        return posts.mapValues(\.post)
    }
}

/// `text2grad eval facts`: the summaries to check and the task data their ids are looked up in.
public struct EvalFactsConfig: RunConfiguration, Equatable {
    /// Summaries to check (JSONL).
    public var predictions = ""
    /// Task data whose "prompt" (the post) each prediction's "id" is looked up in (default: none).
    public var task: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case predictions, task
    }

    public init() {}

    public func validate() throws {
        if predictions.isEmpty { throw FileError.badConfig(source: "eval facts", detail: "'predictions' is required") }
    }
}
