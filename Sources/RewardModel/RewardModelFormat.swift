import Annotation
import Common
import Foundation
import Spans
import Tokenizers

/// What a reward model is asked and what it answers, for one task: the critique key first, then one list of
/// verbatim quotes per label (`good_spans`, `poor_spans`; code: `wrong_code`, `improvement_code`).
public struct RewardModelFormat: Sendable, Equatable {
    /// The task name written into records (`summarization`, `qa`, `code`, or a custom task's).
    public var task: String
    /// The span lists, in answer order, with the score each label's tokens get.
    public var labels: [SpanLabel]

    /// The format of a built-in task, or of a custom task given by its labels.
    public init(task: String, labels: [SpanLabel]) {
        self.task = task
        self.labels = labels
    }

    /// The format of a built-in annotation task by name.
    public static func builtin(_ name: String, improvementScore: Double = 0) throws -> RewardModelFormat {
        guard let task = BuiltinTask(rawValue: name) else {
            throw RewardModelError.unknownTask(name, known: BuiltinTask.allCases.map(\.rawValue))
        }
        let made = task.make(improvementScore: improvementScore)
        return RewardModelFormat(task: made.name, labels: made.labels)
    }

    /// The conversation that asks for a critique of `response` to `prompt`. Local inference, training and any
    /// remote endpoint serving the reward model all build the prompt here, so they see the same text.
    public func messages(prompt: String, response: String) -> [ChatMessage] {
        let keys = ([critiqueKey] + labels.map(\.name)).map { "\"\($0)\"" }.joined(separator: ", ")
        let meaning = labels.map { "- \($0.name): \($0.meaning.isEmpty ? "quotes labelled \($0.name)" : $0.meaning)" }
            .joined(separator: "\n")
        let system = """
            You critique a response to a prompt. First reason about it in \(critiqueKey), then quote exact \
            phrases of the response. Answer with one JSON object with the keys \(keys), in that order.
            \(meaning)
            """
        let user = "## Prompt\n\(prompt)\n\n## Response\n\(response)"
        return [ChatMessage(role: "system", content: system), ChatMessage(role: "user", content: user)]
    }

    /// The answer the reward model learns to write: one JSON object, critique first, then each label's quotes
    /// in label order (keys in this order, one line, no spaces after separators).
    public func target(critique: String, quotes: [String: [String]]) -> String {
        var parts = ["\"\(critiqueKey)\":" + Self.jsonString(critique)]
        for label in labels {
            parts.append("\"\(label.name)\":[" + (quotes[label.name] ?? []).map(Self.jsonString).joined(separator: ",") + "]")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A JSON string literal (slashes unescaped, non-ASCII kept).
    static func jsonString(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}

/// One training pair of the reward model, from an annotation record.
public struct RewardModelExample: Sendable, Equatable {
    /// The record's id.
    public var id: String
    /// system + user turns (`RewardModelFormat.messages`) and the assistant's target.
    public var messages: [ChatMessage]
    /// Quotes dropped because the teacher's quote matched nothing in the response.
    public var droppedSpans: Int

    /// The pair for `record`: each aligned span's quote is replaced by the response's own text at its offsets
    /// (so a fuzzy match teaches the exact substring); unmatched spans are dropped and counted.
    public init(record: AnnotationRecord, format: RewardModelFormat) {
        let scalars = Array(record.response.unicodeScalars)
        var quotes: [String: [String]] = [:]
        var dropped = 0
        for span in record.spans {
            guard let start = span.start, let end = span.end, span.match != .unmatched, 0 <= start, start < end,
                  end <= scalars.count
            else { dropped += 1; continue }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars[start..<end])
            quotes[span.label, default: []].append(String(text))
        }
        id = record.id
        droppedSpans = dropped
        messages = format.messages(prompt: record.prompt, response: record.response)
            + [ChatMessage(role: "assistant", content: format.target(critique: record.critique, quotes: quotes))]
    }
}

/// Why reward-model data or inference could not proceed.
public enum RewardModelError: Error, Equatable, CustomStringConvertible {
    case unknownTask(String, known: [String])
    case badRecord(path: String, line: Int, detail: String)
    case mixedTasks(path: String, first: String, other: String)
    case noRecords(path: String)

    public var description: String {
        switch self {
        case let .unknownTask(name, known):
            return "unknown task '\(name)' (built-in: \(known.joined(separator: ", ")))"
        case let .badRecord(path, line, detail):
            return "\(path):\(line): not an annotation record (\(detail))"
        case let .mixedTasks(path, first, other):
            return "\(path): records of task '\(first)' and '\(other)'; train one reward model per task"
        case let .noRecords(path):
            return "\(path): no annotation records"
        }
    }
}
