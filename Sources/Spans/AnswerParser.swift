import Foundation
import JSON

/// One quote from the teacher's answer, before alignment.
public struct QuotedSpan: Sendable, Equatable {
    /// The label it was listed under.
    public var label: String
    /// The quote as the teacher wrote it.
    public var text: String

    /// Creates a quote.
    public init(label: String, text: String) {
        self.label = label
        self.text = text
    }
}

/// The usable content of a teacher's answer: the critique and the quotes per label, in label order.
public struct TeacherAnswer: Sendable, Equatable {
    /// The chain-of-thought critique paragraph.
    public var critique: String
    /// Every non-empty quote, labels in task order, quotes in answer order.
    public var spans: [QuotedSpan]
}

/// Why an answer could not be used; the text is sent back to the teacher in the re-ask.
public enum AnswerProblem: Error, Equatable, CustomStringConvertible {
    /// The answer holds no `{`…`}` at all.
    case noJSON
    /// There is an object, but it does not parse even after repairs.
    case invalidJSON(String)
    /// A required key is absent.
    case missingKey(String)
    /// A key has a value of the wrong type.
    case wrongType(key: String, expected: String)

    public var description: String {
        switch self {
        case .noJSON: return "it contains no JSON object"
        case let .invalidJSON(detail): return "its JSON does not parse (\(detail))"
        case let .missingKey(key): return "the key \"\(key)\" is missing"
        case let .wrongType(key, expected): return "\"\(key)\" must be \(expected)"
        }
    }

    /// A short machine-readable kind for failure files and summaries.
    public var kind: String {
        switch self {
        case .noJSON: return "no_json"
        case .invalidJSON: return "invalid_json"
        case .missingKey: return "missing_key"
        case .wrongType: return "wrong_type"
        }
    }

    /// How far parsing got; the furthest problem over all candidates is reported.
    var depth: Int {
        switch self {
        case .noJSON: return 0
        case .invalidJSON: return 1
        case .missingKey, .wrongType: return 2
        }
    }
}

/// Extracts and validates the teacher's JSON from whatever surrounds it.
///
/// Candidates, tried in order until one validates:
/// 1. the whole answer;
/// 2. the contents of each ``` fence, last first (the answer usually ends with it);
/// 3. each balanced top-level `{…}` in the text, last first; an unclosed one runs to the end.
/// Each candidate is parsed as is, then after `JSONRepair` (trailing commas, smart quotes used as
/// delimiters, raw newlines inside strings).
public enum AnswerParser {
    /// Keys accepted for the critique besides `textual_feedback`, for teachers that drift.
    static let critiqueAliases = [critiqueKey, "critique", "feedback", "code_feedback", "analysis"]

    /// Parses `raw` against the task's labels; without `critique` the answer holds the quotes alone (a critique,
    /// when there is one, is still read).
    public static func parse(_ raw: String, labels: [SpanLabel], critique: Bool = true)
        -> Result<TeacherAnswer, AnswerProblem>
    {
        parseObject(raw) { validate($0, labels: labels, critiqueRequired: critique) }
    }

    /// The first candidate object of `raw` (as is, then repaired) that `validate` accepts; else the problem that
    /// got furthest.
    public static func parseObject<Value>(
        _ raw: String, validate: ([(key: String, value: JSONValue)]) -> Result<Value, AnswerProblem>
    ) -> Result<Value, AnswerProblem> {
        var worst: AnswerProblem = .noJSON
        for candidate in candidates(raw) {
            for text in [candidate, JSONRepair.repair(candidate)] {
                let result = object(text).flatMap(validate)
                switch result {
                case .success: return result
                case let .failure(problem) where problem.depth > worst.depth: worst = problem
                case .failure: break
                }
            }
        }
        return .failure(worst)
    }

    static func candidates(_ raw: String) -> [String] {
        var list: [String] = []
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") { list.append(trimmed) }
        list += fencedBlocks(raw).reversed()
        list += JSONRepair.topLevelObjects(raw).reversed()
        var seen = Set<String>()
        return list.filter { seen.insert($0).inserted }
    }

    /// Contents of ``` fences, with the language tag line (```json) removed.
    static func fencedBlocks(_ text: String) -> [String] {
        let parts = text.components(separatedBy: "```")
        guard parts.count >= 3 else { return [] }
        var blocks: [String] = []
        var index = 1
        while index < parts.count - 1 {
            var body = Substring(parts[index])
            if let newline = body.firstIndex(of: "\n"),
                body[..<newline].allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " })
            {
                body = body[body.index(after: newline)...]
            }
            blocks.append(body.trimmingCharacters(in: .whitespacesAndNewlines))
            index += 2
        }
        return blocks
    }

    /// The members of the JSON object `text` holds, in their order.
    private static func object(_ text: String) -> Result<[(key: String, value: JSONValue)], AnswerProblem> {
        let root: JSONValue
        do {
            root = try JSONValue.parse(text)
        } catch {
            return .failure(.invalidJSON("\(error)"))
        }
        guard let members = root.objectValue else {
            return .failure(.invalidJSON("the top level is not an object"))
        }
        return .success(members)
    }

    private static func validate(_ object: [(key: String, value: JSONValue)], labels: [SpanLabel],
                                 critiqueRequired: Bool) -> Result<TeacherAnswer, AnswerProblem>
    {
        var byKey: [String: JSONValue] = [:]
        for (key, value) in object { byKey[normalizedKey(key)] = value }
        let critiqueValue = critiqueAliases.lazy.compactMap({ byKey[normalizedKey($0)] }).first
        if critiqueValue == nil && critiqueRequired { return .failure(.missingKey(critiqueKey)) }
        var critique = ""
        if let critiqueValue {
            guard let text = critiqueValue.stringValue else {
                return .failure(.wrongType(key: critiqueKey, expected: "a string"))
            }
            critique = text
        }
        var spans: [QuotedSpan] = []
        for label in labels {
            guard let value = byKey[normalizedKey(label.name)] else { return .failure(.missingKey(label.name)) }
            guard let quotes = quoteList(value) else {
                return .failure(.wrongType(key: label.name, expected: "a list of strings"))
            }
            // A blank quote points at nothing; it is not a span, so it is not counted as unmatched.
            spans += quotes.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
                .map { QuotedSpan(label: label.name, text: $0) }
        }
        return .success(TeacherAnswer(critique: critique, spans: spans))
    }

    /// A list of strings; also a lone string, null (no quotes) and `{"text": …}` entries.
    private static func quoteList(_ value: JSONValue) -> [String]? {
        if value == .null { return [] }
        if let single = value.stringValue { return [single] }
        guard let list = value.arrayValue else { return nil }
        var quotes: [String] = []
        for entry in list {
            if let text = entry.stringValue {
                quotes.append(text)
            } else if entry.objectValue != nil,
                let text = (entry["text"] ?? entry["span"] ?? entry["quote"])?.stringValue
            {
                quotes.append(text)
            } else {
                return nil
            }
        }
        return quotes
    }

    /// `Good Spans`, `good-spans` and `good_spans` are the same key.
    public static func normalizedKey(_ key: String) -> String {
        String(key.lowercased().map { $0 == " " || $0 == "-" ? "_" : $0 })
            .trimmingCharacters(in: .whitespaces)
    }
}

/// Repairs the JSON mistakes language models make, without touching text inside strings.
enum JSONRepair {
    private static let smartDoubleQuotes: Set<Unicode.Scalar> = ["\u{201C}", "\u{201D}", "\u{201E}", "\u{201F}"]

    /// One pass over `text`, applying in order, outside strings: drop a comma before `}` or `]`;
    /// open a string at a smart double quote (closed by the next smart or ASCII double quote).
    /// Inside strings: escape raw newlines, tabs and control characters; escape an ASCII quote that
    /// is not followed by `,` `}` `]` or `:` (an unescaped quote inside the text).
    static func repair(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var inString = false
        var openedBySmartQuote = false
        var escaped = false
        var index = 0
        while index < scalars.count {
            let char = scalars[index]
            defer { index += 1 }
            if inString {
                if escaped {
                    out.append(char)
                    escaped = false
                } else if char == "\\" {
                    out.append(char)
                    escaped = true
                } else if openedBySmartQuote && (smartDoubleQuotes.contains(char) || char == "\"") {
                    out.append("\"")
                    inString = false
                } else if char == "\"" {
                    if openedBySmartQuote || !closesString(scalars, after: index) {
                        out.append(contentsOf: "\\\"".unicodeScalars)
                    } else {
                        out.append(char)
                        inString = false
                    }
                } else if char.value < 0x20 {
                    switch char {
                    case "\n": out.append(contentsOf: "\\n".unicodeScalars)
                    case "\r": out.append(contentsOf: "\\r".unicodeScalars)
                    case "\t": out.append(contentsOf: "\\t".unicodeScalars)
                    default: out.append(contentsOf: String(format: "\\u%04x", char.value).unicodeScalars)
                    }
                } else {
                    out.append(char)
                }
            } else if char == "\"" || smartDoubleQuotes.contains(char) {
                out.append("\"")
                inString = true
                openedBySmartQuote = char != "\""
            } else if char == "," && nextSignificant(scalars, after: index).map({ $0 == "}" || $0 == "]" }) == true {
                continue
            } else {
                out.append(char)
            }
        }
        return String(out)
    }

    /// Each balanced `{…}` at the top level of `text`; an unclosed last one runs to the end.
    /// Quotes are tracked only inside braces, so apostrophes in surrounding prose do not confuse it.
    static func topLevelObjects(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var objects: [String] = []
        var depth = 0
        var start = 0
        var inString = false
        var escaped = false
        for (index, char) in scalars.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if char == "\\" {
                    escaped = true
                } else if char == "\"" {
                    inString = false
                }
                continue
            }
            switch char {
            case "{":
                if depth == 0 { start = index }
                depth += 1
            case "}" where depth > 0:
                depth -= 1
                if depth == 0 { objects.append(string(scalars[start...index])) }
            case "\"" where depth > 0:
                inString = true
            default:
                break
            }
        }
        if depth > 0 { objects.append(string(scalars[start...])) }
        return objects
    }

    private static func string(_ slice: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: slice)
        return String(view)
    }

    private static func nextSignificant(_ scalars: [Unicode.Scalar], after index: Int) -> Unicode.Scalar? {
        var next = index + 1
        while next < scalars.count, scalars[next].properties.isWhitespace { next += 1 }
        return next < scalars.count ? scalars[next] : nil
    }

    /// A quote ends a string when what follows can follow a JSON string.
    private static func closesString(_ scalars: [Unicode.Scalar], after index: Int) -> Bool {
        guard let next = nextSignificant(scalars, after: index) else { return true }
        return next == "," || next == "}" || next == "]" || next == ":"
    }
}
