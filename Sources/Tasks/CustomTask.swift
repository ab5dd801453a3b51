import Common
import Foundation
import Spans
import Tokenizers
import Yams

/// A task defined in a YAML file: a prompt template with `{field}` placeholders and its labels.
///
/// ```yaml
/// name: headline                 # written to each record's `task`
/// system: You review headlines.  # optional; the built-in system turn otherwise
/// template: |                    # required; must contain {response}
///   Article: {prompt}
///   Headline: {response}
/// labels:                        # required, at least one
///   - {name: good_spans, score: 1, meaning: phrases that capture the story}
///   - {name: poor_spans, score: -1}
/// quoted_from: headline          # optional; how the answer format names the response
/// append_answer_format: true     # optional; appends the JSON contract after the template
/// run_code: false                # optional; run the item's tests in the sandbox first
/// ```
/// Placeholders: `{prompt}`, `{response}`, `{reference}`, `{tests}`, `{execution}` (the test run)
/// and any top-level string field of the input object; `{{` and `}}` are literal braces.
public struct CustomTask: AnnotationTask {
    public let name: String
    public let labels: [SpanLabel]
    public let runsCode: Bool
    /// The template text as written.
    public let template: String
    let system: String
    let quotedFrom: String
    let appendAnswerFormat: Bool
    let pieces: [Piece]

    enum Piece: Equatable {
        case text(String)
        case field(String)
    }

    private struct File: Decodable {
        var name: String
        var system: String?
        var template: String
        var labels: [FileLabel]
        var quotedFrom: String?
        var appendAnswerFormat: Bool?
        var runCode: Bool?

        enum CodingKeys: String, CodingKey {
            case name, system, template, labels
            case quotedFrom = "quoted_from"
            case appendAnswerFormat = "append_answer_format"
            case runCode = "run_code"
        }
    }

    private struct FileLabel: Decodable {
        var name: String
        var score: Double
        var meaning: String?
    }

    /// Loads and checks a task file.
    public init(path: String) throws {
        let text: String
        do {
            text = try InputFile.text(path: path)
        } catch FileError.io(_, let detail) {
            throw AnnotationError.io(path: path, detail: "task file: \(detail)")
        }
        try self.init(yaml: text, path: path)
    }

    /// Parses a task definition; `path` only labels errors.
    public init(yaml: String, path: String = "<task>") throws {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch {
            throw AnnotationError.badTask(path: path, detail: "cannot decode (\(error))")
        }
        guard !file.name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw AnnotationError.badTask(path: path, detail: "'name' is empty")
        }
        guard !file.labels.isEmpty else {
            throw AnnotationError.badTask(path: path, detail: "'labels' needs at least one label")
        }
        var names = Set<String>()
        for label in file.labels {
            let valid = !label.name.isEmpty && label.name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
            guard valid, label.name != critiqueKey else {
                throw AnnotationError.badTask(
                    path: path,
                    detail: "label name '\(label.name)' must be letters, digits or _ "
                        + "and not '\(critiqueKey)'")
            }
            guard names.insert(label.name).inserted else {
                throw AnnotationError.badTask(path: path, detail: "label '\(label.name)' appears twice")
            }
            guard label.score.isFinite else {
                throw AnnotationError.badTask(path: path, detail: "label '\(label.name)' has a non-finite score")
            }
        }
        let pieces: [Piece]
        do {
            pieces = try Self.parseTemplate(file.template)
        } catch let error as TemplateError {
            throw AnnotationError.badTask(path: path, detail: error.description)
        }
        guard pieces.contains(.field("response")) else {
            throw AnnotationError.badTask(path: path, detail: "the template must contain {response}")
        }
        name = file.name
        labels = file.labels.map { SpanLabel(name: $0.name, score: $0.score, meaning: $0.meaning ?? "") }
        runsCode = file.runCode ?? false
        template = file.template
        system = file.system ?? TeacherPrompts.system
        quotedFrom = file.quotedFrom ?? "response"
        appendAnswerFormat = file.appendAnswerFormat ?? true
        self.pieces = pieces
    }

    public func messages(for item: TaskItem, execution: ExecutionResult?) throws -> [ChatMessage] {
        var body = ""
        for piece in pieces {
            switch piece {
            case let .text(text):
                body += text
            case .field("execution"):
                body += TeacherPrompts.describe(execution, tests: item.tests)
            case let .field(field):
                guard let value = item.fields[field] else {
                    throw AnnotationError.missingField(item: item.id, field: field)
                }
                body += value
            }
        }
        if appendAnswerFormat {
            body += "\n\n" + TeacherPrompts.outputFormat(labels, quotedFrom: quotedFrom)
        }
        return [ChatMessage(role: "system", content: system), ChatMessage(role: "user", content: body)]
    }

    struct TemplateError: Error, CustomStringConvertible {
        var description: String
    }

    /// Splits a template into literal text and `{field}` references.
    static func parseTemplate(_ template: String) throws -> [Piece] {
        var pieces: [Piece] = []
        var literal = ""
        var index = template.startIndex
        while index < template.endIndex {
            let char = template[index]
            let next = template.index(after: index)
            if char == "{" || char == "}", next < template.endIndex, template[next] == char {
                literal.append(char)
                index = template.index(after: next)
                continue
            }
            if char == "}" {
                throw TemplateError(description: "unmatched '}' in the template (write '}}' for a literal brace)")
            }
            guard char == "{" else {
                literal.append(char)
                index = next
                continue
            }
            guard let close = template[next...].firstIndex(of: "}") else {
                throw TemplateError(description: "unclosed '{' in the template (write '{{' for a literal brace)")
            }
            let field = String(template[next..<close]).trimmingCharacters(in: .whitespaces)
            guard !field.isEmpty, field.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw TemplateError(description: "'{\(field)}' is not a valid placeholder")
            }
            if !literal.isEmpty { pieces.append(.text(literal)) }
            literal = ""
            pieces.append(.field(field))
            index = template.index(after: close)
        }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        return pieces
    }
}
