/// A JSON value that keeps object members in document order and compares keys by Unicode scalars.
///
/// Foundation's JSONSerialization returns dictionaries whose keys compare by canonical equivalence (a
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

    /// Parses UTF-8 JSON text (RFC 8259, no byte-order mark, nesting below 512 levels); throws `JSONParseError`
    /// with the byte offset of the problem. With `repairingText`, ill-formed UTF-8 and lone surrogate escapes in
    /// strings become U+FFFD instead of errors, for a reader that finds and names them itself (evaluation's record
    /// files name the line and the field).
    public static func parse(_ bytes: [UInt8], repairingText: Bool = false) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, repairingText: repairingText)
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

    /// The member named `key`. Setting replaces that member where it stands, appends a new one, or with nil removes
    /// it; setting a member of a value that is not an object is a programmer error.
    public subscript(key: String) -> JSONValue? {
        get { member(key) }
        set {
            guard case .object(var members) = self else { preconditionFailure("a member set on a non-object") }
            let wanted = Array(key.unicodeScalars)
            let index = members.firstIndex { $0.key.unicodeScalars.elementsEqual(wanted) }
            switch (index, newValue) {
            case let (index?, value?): members[index].value = value
            case let (index?, nil): members.remove(at: index)
            case let (nil, value?): members.append((key, value))
            case (nil, nil): break
            }
            self = .object(members)
        }
    }

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
                && zip(a, b).allSatisfy {
                    $0.key.unicodeScalars.elementsEqual($1.key.unicodeScalars) && $0.value == $1.value
                }
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
    /// Ill-formed UTF-8 and lone surrogates in strings become U+FFFD instead of errors.
    let repairingText: Bool
    var i = 0

    init(bytes: [UInt8], repairingText: Bool = false) {
        self.bytes = bytes
        self.repairingText = repairingText
    }

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
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw JSONParseError(offset: i, reason: "expected a key")
            }
            let keyOffset = i
            let key = try string()
            guard seen.insert(ScalarKey(key)).inserted else {
                throw JSONParseError(offset: keyOffset, reason: "duplicate key \"\(key)\"")
            }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw JSONParseError(offset: i, reason: "expected ':'")
            }
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

    /// A number by RFC 8259's grammar, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, which refuses
    /// what `Double(String)` alone would take (`01`, `.5`, `1.`, `+1`); one beyond Double's range is an error,
    /// never infinity.
    private mutating func number() throws -> JSONValue {
        let start = i
        func isDigit(_ k: Int) -> Bool {
            k < bytes.count && bytes[k] >= UInt8(ascii: "0") && bytes[k] <= UInt8(ascii: "9")
        }
        func digits() throws {
            guard isDigit(i) else { throw JSONParseError(offset: i, reason: "invalid number") }
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw JSONParseError(offset: start, reason: "invalid value") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw JSONParseError(offset: start, reason: "leading zero in number") }
        } else {
            try digits()
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            try digits()
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            try digits()
        }
        guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)), d.isFinite else {
            throw JSONParseError(offset: start, reason: "number out of range")
        }
        return .number(d)
    }

    /// The value of the four hex digits at `k`, exactly (`UInt32(_:radix:)` would also take a sign), or nil.
    private func hexValue(at k: Int) -> UInt32? {
        guard k + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for b in bytes[k..<k + 4] {
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(digit)
        }
        return v
    }

    /// The length of the well-formed UTF-8 sequence at `i` (lead byte ≥ 0x80), or nil: overlong forms,
    /// surrogates, values past U+10FFFF and truncated sequences are all ill-formed (Unicode table 3-7).
    private func utf8SequenceLength() -> Int? {
        let b0 = bytes[i]
        let (count, low, high): (Int, UInt8, UInt8)
        switch b0 {
        case 0xC2...0xDF: (count, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (count, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (count, low, high) = (3, 0x80, 0xBF)
        case 0xED: (count, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (count, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (count, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (count, low, high) = (4, 0x80, 0x8F)
        default: return nil
        }
        guard i + count <= bytes.count, (low...high).contains(bytes[i + 1]) else { return nil }
        for k in 2..<count where !(0x80...0xBF).contains(bytes[i + k]) { return nil }
        return count
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
                    // A surrogate must come as a high–low pair; a lone one names no character (serde_json, which
                    // writes tokenizer.json, refuses it too): an error, or U+FFFD when repairing (and an escape
                    // after a lone high surrogate is read as itself).
                    let escapeOffset = i - 2
                    guard var v = hexValue(at: i) else { throw JSONParseError(offset: i, reason: "invalid \\u escape") }
                    i += 4
                    if (0xD800..<0xDC00).contains(v), i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                       bytes[i + 1] == UInt8(ascii: "u"), let low = hexValue(at: i + 2),
                       (0xDC00..<0xE000).contains(low) {
                        i += 6
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    if let scalar = Unicode.Scalar(v) {
                        out.append(scalar)
                    } else if repairingText {
                        out.append("\u{FFFD}")
                    } else {
                        throw JSONParseError(offset: escapeOffset, reason: "lone surrogate in \\u escape")
                    }
                default: throw JSONParseError(offset: i - 1, reason: "invalid escape")
                }
                runStart = i
                continue
            }
            if b >= 0x80 {
                // Repairing, the run is decoded with U+FFFD in place of what is ill-formed.
                guard let count = utf8SequenceLength() else {
                    if repairingText { i += 1; continue }
                    throw JSONParseError(offset: i, reason: "invalid UTF-8")
                }
                i += count
                continue
            }
            i += 1
        }
        throw JSONParseError(offset: i, reason: "unterminated string")
    }
}
