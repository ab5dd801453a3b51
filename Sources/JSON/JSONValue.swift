/// A JSON value that keeps object members in document order and compares keys by Unicode scalars.
///
/// Foundation's JSONSerialization returns `[String: Any]`, whose keys compare by canonical equivalence (a
/// SentencePiece vocabulary holding both `é` and `e` + U+0301 would silently lose one) and which keeps one
/// of two duplicate keys (a safetensors header naming a tensor twice must be an error). This parser keeps
/// every member, rejects duplicate keys, and looks members up scalar by scalar.
public indirect enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    /// Parses UTF-8 JSON text; throws `JSONParseError` with the byte offset of the problem.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == bytes.count else { throw JSONParseError(offset: parser.i, reason: "trailing characters") }
        return value
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue { try parse(Array(bytes)) }

    public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

    /// The member named `key` (compared by scalars), or nil.
    public func member(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let wanted = Array(key.unicodeScalars)
        return members.first { $0.key.unicodeScalars.elementsEqual(wanted) }?.value
    }

    public subscript(key: String) -> JSONValue? { member(key) }

    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    public var numberValue: Double? { if case let .number(n) = self { return n } else { return nil } }
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }
    public var objectValue: [(key: String, value: JSONValue)]? {
        if case let .object(o) = self { return o } else { return nil }
    }

    /// An integer value, when the number is integral and exactly representable.
    public var intValue: Int? {
        guard let n = numberValue, n.rounded() == n, abs(n) < 9.0e15 else { return nil }
        return Int(n)
    }

    /// `s` as a JSON string literal, quotes included.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension JSONValue: Equatable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count
                && zip(a, b).allSatisfy { $0.key.unicodeScalars.elementsEqual($1.key.unicodeScalars) && $0.value == $1.value }
        default: return false
        }
    }
}

/// Where and why JSON text could not be parsed.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public let reason: String
    public var description: String { "\(reason) at byte \(offset)" }
}

/// A key hashed and compared by its Unicode scalars (String's own == uses canonical equivalence).
private struct ScalarKey: Hashable {
    let scalars: [UInt32]
    init(_ s: String) { scalars = s.unicodeScalars.map(\.value) }
}

/// A recursive-descent parser over UTF-8 bytes.
struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws -> JSONValue {
        let l = Array(literal.utf8)
        guard i + l.count <= bytes.count, Array(bytes[i..<i + l.count]) == l else {
            throw JSONParseError(offset: i, reason: "unexpected character")
        }
        i += l.count
        return value
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw JSONParseError(offset: i, reason: "nesting too deep") }
        guard i < bytes.count else { throw JSONParseError(offset: i, reason: "unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        default: return try number()
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<ScalarKey>()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw JSONParseError(offset: i, reason: "expected a key") }
            let keyOffset = i
            let key = try string()
            guard seen.insert(ScalarKey(key)).inserted else {
                throw JSONParseError(offset: keyOffset, reason: "duplicate key \"\(key)\"")
            }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw JSONParseError(offset: i, reason: "expected ':'") }
            i += 1
            skipSpace()
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard i < bytes.count else { throw JSONParseError(offset: i, reason: "unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw JSONParseError(offset: i, reason: "expected ',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw JSONParseError(offset: i, reason: "unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw JSONParseError(offset: i, reason: "expected ',' or ']'")
        }
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
        guard i > start, let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else {
            throw JSONParseError(offset: start, reason: "invalid value")
        }
        return .number(d)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw JSONParseError(offset: i, reason: "invalid \\u escape")
        }
        i += 4
        return v
    }

    /// A string literal; unescaped runs are copied whole, which keeps large vocabularies fast to load.
    private mutating func string() throws -> String {
        i += 1
        var out = String.UnicodeScalarView()
        var runStart = i
        func flushRun() { out.append(contentsOf: String(decoding: bytes[runStart..<i], as: UTF8.self).unicodeScalars) }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                flushRun()
                i += 1
                return String(out)
            }
            if b < 0x20 { throw JSONParseError(offset: i, reason: "control character in string") }
            if b == UInt8(ascii: "\\") {
                flushRun()
                i += 1
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append("\n")
                case UInt8(ascii: "t"): out.append("\t")
                case UInt8(ascii: "r"): out.append("\r")
                case UInt8(ascii: "b"): out.append("\u{8}")
                case UInt8(ascii: "f"): out.append("\u{C}")
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(Unicode.Scalar(e))
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800, v < 0xDC00, i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        v = 0x10000 + ((v - 0xD800) << 10) + (low &- 0xDC00)
                    }
                    out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                default: throw JSONParseError(offset: i - 1, reason: "invalid escape")
                }
                runStart = i
                continue
            }
            i += 1
        }
        throw JSONParseError(offset: i, reason: "unterminated string")
    }
}
