import Foundation
import JSON
import Tokenizers

/// One item to annotate: the prompt, the response to critique, and optional reference and tests.
///
/// `response` is the text the teacher quotes from; every span offset the layer produces is a
/// character offset into it, counted in Unicode scalars (`response.unicodeScalars`), not bytes,
/// UTF-16 units or grapheme clusters. The tokenizer layer maps those to tokens.
public struct TaskItem: Sendable, Equatable {
    /// Stable identifier; the output has exactly one record per id.
    public var id: String
    /// The instruction, post, question or conversation the response answers.
    public var prompt: String
    /// The text being critiqued.
    public var response: String
    /// A reference answer (SLF5K `ideal_human_summary`), when the data set has one.
    public var reference: String?
    /// Unit tests for code items (KodCode `test`).
    public var tests: String?
    /// Every top-level string field of the source object, for custom prompt templates.
    public var fields: [String: String]
    /// Where the item came from, for error messages: "line 12" or "key abc".
    public var origin: String

    /// Creates an item; `fields` defaults to the named ones.
    public init(
        id: String, prompt: String, response: String, reference: String? = nil, tests: String? = nil,
        fields: [String: String] = [:], origin: String = ""
    ) {
        self.id = id
        self.prompt = prompt
        self.response = response
        self.reference = reference
        self.tests = tests
        var all = fields
        all["id"] = id
        all["prompt"] = prompt
        all["response"] = response
        if let reference { all["reference"] = reference }
        if let tests { all["tests"] = tests }
        self.fields = all
        self.origin = origin.isEmpty ? "item \(id)" : origin
    }
}

/// Maps one decoded JSON object from any supported data set onto a `TaskItem`.
///
/// Field policy, first present wins:
/// 1. id: `id`, `prompt_id`, `task_id`, `question_id`, else the dict key, else the 1-based position;
/// 2. prompt: `prompt`, `post` (SLF5K), `question` (KodCode), `instruction`, else chat `messages`
///    before the last assistant turn;
/// 3. response: `response` (a string, or a chat list whose last assistant turn is taken),
///    `generated_summary`, `solution`, `completion`, `output`, else the last assistant turn of `messages`;
/// 4. reference: `reference`, `ideal_human_summary`; tests: `tests`, `test`.
package enum ItemMapper {
    package static func map(_ object: JSONValue, fallbackID: String, origin: String) throws -> TaskItem {
        var strings: [String: String] = [:]
        for (key, value) in object.objectValue ?? [] {
            if let text = value.stringValue { strings[key] = text }
        }
        let id =
            idString(object["id"]) ?? idString(object["prompt_id"]) ?? idString(object["task_id"])
            ?? idString(object["question_id"]) ?? fallbackID
        let messages = try chatTurns(object["messages"], field: "messages")
        var prompt = try firstString(object, ["prompt", "post", "question", "instruction"])
        var response = try firstString(object, ["generated_summary", "solution", "completion", "output"])
        if let value = object["response"], value != .null {
            if let text = value.stringValue {
                response = text
            } else if let turns = try chatTurns(value, field: "response"), let last = lastAssistant(turns) {
                response = last.content
            } else {
                throw ItemError.wrongType(field: "response", expected: "a string or a list of chat messages")
            }
        }
        if let turns = messages, let last = lastAssistant(turns) {
            if response == nil { response = last.content }
            if prompt == nil { prompt = transcript(Array(turns[..<last.index])) }
        } else if let turns = messages, prompt == nil {
            prompt = transcript(turns)
        }
        guard let prompt, !prompt.isEmpty else {
            throw ItemError.missing("a prompt (prompt, post, question, instruction or messages)")
        }
        guard let response else {
            throw ItemError.missing(
                "a response (response, generated_summary, solution, completion, output "
                    + "or an assistant turn in messages)")
        }
        let reference = try firstString(object, ["reference", "ideal_human_summary"])
        let tests = try firstString(object, ["tests", "test"])
        return TaskItem(
            id: id, prompt: prompt, response: response, reference: reference, tests: tests,
            fields: strings, origin: origin)
    }

    /// Why an object could not become an item; turned into `AnnotationError.badInput` by the reader.
    package enum ItemError: Error, CustomStringConvertible {
        case missing(String)
        case wrongType(field: String, expected: String)

        package var description: String {
            switch self {
            case let .missing(what): return "missing \(what)"
            case let .wrongType(field, expected): return "field '\(field)' must be \(expected)"
            }
        }
    }

    /// A string id as itself, a number as its digits (`7`, `2.5`), a boolean as Foundation's NSNumber spells
    /// it (`1`, `0`).
    private static func idString(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)? where !text.isEmpty: return text
        case .number(let n)?: return JSONValue(n).intValue.map(String.init) ?? "\(n)"
        case .bool(let b)?: return b ? "1" : "0"
        default: return nil
        }
    }

    /// The first of `keys` that is present; a present value that is not a string (or null) is an error naming
    /// that key, not a silently skipped field.
    private static func firstString(_ object: JSONValue, _ keys: [String]) throws -> String? {
        for key in keys {
            guard let value = object[key], value != .null else { continue }
            guard let text = value.stringValue else { throw ItemError.wrongType(field: key, expected: "a string") }
            return text
        }
        return nil
    }

    /// Chat turns from the field named `field`; an error names that field and the entry that was wrong.
    private static func chatTurns(_ value: JSONValue?, field: String) throws -> [ChatMessage]? {
        guard let value, value != .null else { return nil }
        do {
            return try ChatMessage.list(fromJSON: value)
        } catch let error as ChatMessageError {
            let name = error.index.map { "\(field)[\($0)]" } ?? field
            throw ItemError.wrongType(field: name, expected: "a list of {role, content} objects (\(error.reason))")
        }
    }

    private static func lastAssistant(_ turns: [ChatMessage]) -> (index: Int, content: String)? {
        guard let index = turns.lastIndex(where: { $0.role == "assistant" }) else { return nil }
        return (index, turns[index].content)
    }

    /// A single user turn is the prompt itself; longer conversations are shown role by role.
    private static func transcript(_ turns: [ChatMessage]) -> String {
        if turns.count == 1 { return turns[0].content }
        return turns.map { "\($0.role): \($0.content)" }.joined(separator: "\n\n")
    }
}
