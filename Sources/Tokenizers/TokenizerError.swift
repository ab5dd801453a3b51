import Foundation
import JSON

/// Everything that can go wrong when loading a tokenizer or rendering a chat template.
///
/// Each case names the file or component and, for tokenizer.json, the JSON path of the offending value
/// (for example `pre_tokenizer.pretokenizers[1].type`), so a user can find it in the file.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file or directory could not be written.
    case unwritableFile(path: String, reason: String)
    /// The file is not valid JSON, or a value has the wrong JSON type.
    case malformed(file: String, path: String, reason: String)
    /// A component type or option this implementation does not support.
    case unsupported(file: String, path: String, value: String)
    /// A chat template failed to parse or render (including `raise_exception` in the template).
    case template(String)
    /// The tokenizer has no chat template.
    case missingChatTemplate
    /// A chat template went past one of its `TemplateLimits` (nesting depth, loop iterations, output size, ...).
    case limit(name: String, limit: Int)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .unwritableFile(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .malformed(let file, let path, let reason):
            return "\(file): \(path.isEmpty ? "<root>" : path): \(reason)"
        case .unsupported(let file, let path, let value):
            return "\(file): \(path) = \(value) is not supported"
        case .template(let message):
            return "chat template: \(message)"
        case .missingChatTemplate:
            return "tokenizer_config.json has no chat_template"
        case .limit(let name, let limit):
            return "chat template: exceeded the \(name) limit of \(limit)"
        }
    }
}

/// A JSON value together with its path in the file, for error messages that point at the value.
struct JSONNode {
    let value: JSONValue?
    let path: String
    let file: String

    init(value: JSONValue?, path: String = "", file: String) {
        self.value = value
        self.path = path
        self.file = file
    }

    static func parse(data: Data, file: String) throws -> JSONNode {
        do {
            return JSONNode(value: try JSONValue.parse([UInt8](data)), file: file)
        } catch let failure as JSONParseError {
            throw TokenizerError.malformed(
                file: file, path: "", reason: "invalid JSON at byte \(failure.offset): \(failure.reason)")
        }
    }

    var isNull: Bool {
        if case .null = value { return true }
        return value == nil
    }

    subscript(key: String) -> JSONNode {
        JSONNode(value: value?.member(key), path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    func malformed(_ reason: String) -> TokenizerError {
        TokenizerError.malformed(file: file, path: path, reason: reason)
    }

    func unsupported(_ shown: String? = nil) -> TokenizerError {
        TokenizerError.unsupported(file: file, path: path, value: shown ?? describe())
    }

    func describe() -> String {
        switch value {
        case .string(let s)?: return "\"\(s)\""
        case .number(let d)?: return d == d.rounded() ? String(Int(d)) : String(d)
        case .bool(let b)?: return String(b)
        case .array?: return "[...]"
        case .object?: return "{...}"
        default: return "null"
        }
    }

    /// Members of an object, in file order (duplicates and canonically-equivalent keys kept).
    func members() throws -> [(key: String, value: JSONNode)] {
        guard case .object(let members)? = value else { throw malformed("expected an object") }
        return members.map { ($0.key, JSONNode(value: $0.value, path: "\(path)[\"\($0.key)\"]", file: file)) }
    }

    func array() throws -> [JSONNode] {
        guard case .array(let items)? = value else { throw malformed("expected an array") }
        return items.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws -> String {
        guard case .string(let s)? = value else { throw malformed("expected a string") }
        return s
    }

    func optionalString() throws -> String? { isNull ? nil : try string() }

    func int() throws -> Int {
        guard case .number(let d)? = value, d == d.rounded(), abs(d) < 1e15 else {
            throw malformed("expected an integer")
        }
        return Int(d)
    }

    func bool(default fallback: Bool) throws -> Bool {
        if isNull { return fallback }
        guard case .bool(let b)? = value else { throw malformed("expected a boolean") }
        return b
    }

    /// The `type` field of a component, with the path in the error when it is missing.
    func typeName() throws -> String { try self["type"].string() }
}
