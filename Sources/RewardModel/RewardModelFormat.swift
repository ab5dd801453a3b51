import Common
import Foundation
import JSON
import Generation
import Spans
import Tasks
import Tokenizers

/// What a reward model is asked and what it answers, for one task and one target format (`RewardTarget`):
/// critique+spans (the critique key first, then one list of verbatim quotes per label: `good_spans`, `poor_spans`;
/// code: `wrong_code`, `improvement_code`), spans (the lists alone), or dense (every word tagged, `DenseLabels`).
public struct RewardModelFormat: Sendable, Equatable {
    /// The task name written into records (`summarization`, `qa`, `code`, or a custom task's).
    public var task: String
    /// The span lists, in answer order, with the score each label's tokens get.
    public var labels: [SpanLabel]
    /// What the answer holds.
    public var target: RewardTarget

    /// The format of a built-in task, or of a custom task given by its labels.
    public init(task: String, labels: [SpanLabel], target: RewardTarget = .critiqueSpans) {
        self.task = task
        self.labels = labels
        self.target = target
    }

    /// The format of a built-in annotation task by name.
    public static func builtin(_ name: String, improvementScore: Double = 0, target: RewardTarget = .critiqueSpans)
        throws -> RewardModelFormat
    {
        guard let task = BuiltinTask(rawValue: name) else {
            throw RewardModelError.unknownTask(name, known: BuiltinTask.allCases.map(\.rawValue))
        }
        let made = task.make(improvementScore: improvementScore)
        let format = RewardModelFormat(task: made.name, labels: made.labels, target: target)
        try format.validate()
        return format
    }

    /// The dense target tags each word with the sign of its label's score, so it needs at most one label scoring
    /// above 0 and one below (a label scoring 0 reads as neither).
    public func validate() throws {
        guard target == .dense else { return }
        for (sign, name) in [(1.0, "above"), (-1.0, "below")] where labels.filter({ $0.score * sign > 0 }).count > 1 {
            throw RewardModelError.denseLabels(task: task, detail: "more than one label scores \(name) 0")
        }
    }

    /// The conversation that asks for a critique of `response` to `prompt`. Local inference, training and any
    /// remote endpoint serving the reward model all build the prompt here, so they see the same text.
    public func messages(prompt: String, response: String) -> [ChatMessage] {
        let meaning = labels.map { "- \($0.name): \($0.meaning.isEmpty ? "quotes labelled \($0.name)" : $0.meaning)" }
            .joined(separator: "\n")
        let system: String
        switch target {
        case .critiqueSpans, .spans:
            let keys = ((target == .critiqueSpans ? [critiqueKey] : []) + labels.map(\.name)).map { "\"\($0)\"" }
                .joined(separator: ", ")
            let how = target == .critiqueSpans ? "First reason about it in \(critiqueKey), then quote" : "Quote"
            system = """
                You critique a response to a prompt. \(how) exact phrases of the response. Answer with one JSON \
                object with the keys \(keys), in that order.
                \(meaning)
                """
        case .dense:
            system = """
                You label every word of a response to a prompt. Answer with one JSON object with the key \
                "\(DenseLabels.key)": the response's words in order (split at white space), each written after its \
                tag: \(DenseLabels.tagging(labels).map { "\($0.tag) for \($0.label.name)" }.joined(separator: ", ")), \
                \(DenseLabels.neutralTag) for neither.
                \(meaning)
                """
        }
        let user = "## Prompt\n\(prompt)\n\n## Response\n\(response)"
        return [ChatMessage(role: "system", content: system), ChatMessage(role: "user", content: user)]
    }

    /// The answer the reward model learns to write for `record`, one JSON object on one line (keys in answer
    /// order, no spaces after separators), and the record's spans it could not use (unmatched ones). The quotes
    /// are the response's own text at the aligned offsets, so a fuzzy match teaches the exact substring.
    public func answer(for record: AnnotationRecord) -> (text: String, droppedSpans: Int) {
        let scalars = Array(record.response.unicodeScalars)
        var located: [(span: AlignedSpan, range: Range<Int>)] = []
        for span in record.spans {
            guard let start = span.start, let end = span.end, span.match != .unmatched, 0 <= start, start < end,
                  end <= scalars.count
            else { continue }
            located.append((span, start..<end))
        }
        let dropped = record.spans.count - located.count
        if target == .dense {
            return (DenseLabels.answer(response: record.response, spans: located.map { ($0.range, $0.span.score) }),
                    dropped)
        }
        var quotes: [String: [String]] = [:]
        for (span, range) in located {
            quotes[span.label, default: []].append(String(String.UnicodeScalarView(scalars[range])))
        }
        return (answer(critique: record.critique, quotes: quotes), dropped)
    }

    /// The critique+spans or spans answer of `critique` and each label's `quotes`, as `answer(for:)` writes it.
    public func answer(critique: String, quotes: [String: [String]]) -> String {
        var parts = target == .critiqueSpans ? ["\"\(critiqueKey)\":" + Self.jsonString(critique)] : []
        for label in labels {
            let list = (quotes[label.name] ?? []).map(Self.jsonString).joined(separator: ",")
            parts.append("\"\(label.name)\":[" + list + "]")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// The critique and the aligned spans of a reward model's answer about `response`.
    public func parse(_ raw: String, response: String, aligner: SpanAligner)
        -> Result<(critique: String, spans: [AlignedSpan]), AnswerProblem>
    {
        if target == .dense {
            return DenseLabels.parse(raw, response: response, labels: labels).map { ("", $0) }
        }
        return AnswerParser.parse(raw, labels: labels, critique: target == .critiqueSpans).map { answer in
            (answer.critique, aligner.align(answer.spans, labels: labels, in: response))
        }
    }

    /// Local decoding's rule: each quote a verbatim substring of `response` (at most `maxQuotes` per label), or for
    /// the dense target every word of it in order, each after a tag.
    public func quoteRule(response: String, maxQuotes: Int?) -> JSONPrefix.QuoteRule {
        guard target == .dense else {
            return JSONPrefix.QuoteRule(keys: Set(labels.map(\.name)), source: response, maxQuotes: maxQuotes)
        }
        let scalars = Array(response.unicodeScalars)
        let words = DenseLabels.words(response).map { String(String.UnicodeScalarView(scalars[$0])) }
        let tags = DenseLabels.tagging(labels).map(\.tag) + [DenseLabels.neutralTag]
        return JSONPrefix.QuoteRule(keys: [DenseLabels.key], source: response,
                                    taggedWords: JSONPrefix.TaggedWords(words: words, tags: tags))
    }

    /// A JSON string literal (slashes unescaped, non-ASCII kept).
    static func jsonString(_ text: String) -> String { JSONValue.quoted(text) }
}

/// One training pair of the reward model, from an annotation record.
public struct RewardModelExample: Sendable, Equatable {
    /// The record's id.
    public var id: String
    /// system + user turns (`RewardModelFormat.messages`) and the assistant's target.
    public var messages: [ChatMessage]
    /// Quotes dropped because the teacher's quote matched nothing in the response.
    public var droppedSpans: Int

    /// The pair for `record` (`RewardModelFormat.answer(for:)`); unmatched spans are dropped and counted.
    public init(record: AnnotationRecord, format: RewardModelFormat) {
        let (target, dropped) = format.answer(for: record)
        id = record.id
        droppedSpans = dropped
        messages = format.messages(prompt: record.prompt, response: record.response)
            + [ChatMessage(role: "assistant", content: target)]
    }
}

/// Why reward-model data or inference could not proceed.
public enum RewardModelError: Error, Equatable, CustomStringConvertible {
    case unknownTask(String, known: [String])
    case badRecord(path: String, line: Int, detail: String)
    case mixedTasks(path: String, first: String, other: String)
    case noRecords(path: String)
    case denseLabels(task: String, detail: String)

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
        case let .denseLabels(task, detail):
            return "the dense target cannot label task '\(task)': \(detail); use critique+spans or spans"
        }
    }
}
