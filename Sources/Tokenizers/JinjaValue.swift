import Foundation
import JSON

/// A value in a chat template: Python-like semantics for truthiness, equality, `str()` and `tojson`.
public indirect enum JinjaValue {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    /// A dict with insertion order kept (as Python's), which `tojson` and `items()` follow.
    case dict([(String, JinjaValue)])
    case namespace(JinjaNamespace)
    case function(JinjaFunction)

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let n): return n != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .function: return true
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Member `key` of a dict or namespace, else undefined.
    func member(_ key: String) -> JinjaValue {
        switch self {
        case .dict(let pairs): return pairs.last { $0.0 == key }?.1 ?? .undefined
        case .namespace(let ns): return ns.values[key] ?? .undefined
        default: return .undefined
        }
    }

    /// What `{{ value }}` prints (Python `str`).
    var rendered: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let n): return String(n)
        case .double(let d): return d == d.rounded() && abs(d) < 1e16 ? String(format: "%.1f", d) : String(d)
        case .string(let s): return s
        case .array, .dict: return pythonRepr
        case .namespace: return "<Namespace>"
        case .function: return "<function>"
        }
    }

    private var pythonRepr: String {
        switch self {
        case .string(let s):
            return "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        case .array(let a): return "[" + a.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.map { "'\($0.0)': \($0.1.pythonRepr)" }.joined(separator: ", ") + "}"
        default: return rendered
        }
    }

    /// Python `==`.
    func equals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.allSatisfy { pair in b.contains { $0.0 == pair.0 && $0.1.equals(pair.1) } }
        default: return false
        }
    }

    /// `tojson` as `transformers` defines it: `json.dumps(x, ensure_ascii=False, indent=indent)`.
    func json(indent: Int?, level: Int = 0) -> String {
        let pad = indent.map { String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let closePad = indent.map { String(repeating: " ", count: $0 * level) } ?? ""
        let newline = indent == nil ? "" : "\n"
        let separator = indent == nil ? ", " : ","
        switch self {
        case .undefined, .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let d): return rendered
        case .string(let s): return JinjaValue.jsonString(s)
        case .array(let a):
            if a.isEmpty { return "[]" }
            return "[" + newline
                + a.map { pad + $0.json(indent: indent, level: level + 1) }
                .joined(separator: separator + newline) + newline + closePad + "]"
        case .dict(let d):
            if d.isEmpty { return "{}" }
            return "{" + newline
                + d.map { pad + JinjaValue.jsonString($0.0) + ": " + $0.1.json(indent: indent, level: level + 1) }
                .joined(separator: separator + newline) + newline + closePad + "}"
        case .namespace(let ns):
            return JinjaValue.dict(ns.values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).json(
                indent: indent, level: level)
        case .function: return "null"
        }
    }

    static func jsonString(_ s: String) -> String { JSONValue.quoted(s) }

    /// Converts a JSON value to a template value: integral numbers as ints, objects' members in their order (as
    /// Python's `json.loads` gives them to a template).
    public static func from(_ value: JSONValue) -> JinjaValue {
        switch value {
        case .null: return .none
        case .bool(let b): return .bool(b)
        case .number(let n): return value.intValue.map(JinjaValue.int) ?? .double(n)
        case .string(let s): return .string(s)
        case .array(let items): return .array(items.map(from))
        case .object(let members): return .dict(members.map { ($0.key, from($0.value)) })
        }
    }
}

/// A mutable `namespace()` object (the only way templates carry state out of a loop).
public final class JinjaNamespace {
    var values: [String: JinjaValue]
    init(_ values: [String: JinjaValue]) { self.values = values }
}

/// A callable available to templates (`raise_exception`, `strftime_now`, `namespace`).
public struct JinjaFunction {
    let call: ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue
}
