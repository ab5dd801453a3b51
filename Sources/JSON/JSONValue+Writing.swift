/// Building and writing JSON values: literals, conversions from Swift values, and compact JSON text.
///
/// What must hold: `parse(serialized())` gives back an equal value for every value the parser can produce, and
/// members are written in their order. Numbers are written as integers when integral and below 2⁵³ in magnitude,
/// else in Swift's shortest round-trip form (`0.1`, `1e-05`, `1e+20`, all JSON numbers); a number that is not
/// finite (only a builder can make one, never the parser) is written as `null`, the one JSON spelling that stays
/// parseable.
extension JSONValue {
    /// The value as compact UTF-8 JSON text (no spaces, `/` unescaped, non-ASCII characters as themselves).
    public func serialized() -> String { serialized(keyOrder: nil, pretty: false) }

    /// The value as JSON text with every object's members sorted by `keyOrder` when given (else in their order)
    /// and, when `pretty`, laid out as Foundation's `JSONSerialization` lays it out: two spaces per level,
    /// `"key" : value`, and an empty object or list as its brackets around an empty line.
    public func serialized(keyOrder: ((String, String) -> Bool)?, pretty: Bool) -> String {
        var out = ""
        write(into: &out, keyOrder: keyOrder, indent: pretty ? "" : nil)
        return out
    }

    /// `indent` is nil for compact text, else the current level's leading spaces.
    private func write(into out: inout String, keyOrder: ((String, String) -> Bool)?, indent: String?) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += Self.numberText(n)
        case .string(let s): out += Self.quoted(s)
        case .array(let items):
            out += "["
            let inner = indent.map { $0 + "  " }
            if inner != nil { out += "\n" + (items.isEmpty ? "\n" : "") }
            for (i, item) in items.enumerated() {
                if i > 0 { out += inner == nil ? "," : ",\n" }
                out += inner ?? ""
                item.write(into: &out, keyOrder: keyOrder, indent: inner)
            }
            if let indent { out += (items.isEmpty ? "" : "\n") + indent }
            out += "]"
        case .object(var members):
            if let keyOrder { members.sort { keyOrder($0.key, $1.key) } }
            out += "{"
            let inner = indent.map { $0 + "  " }
            if inner != nil { out += "\n" + (members.isEmpty ? "\n" : "") }
            for (i, member) in members.enumerated() {
                if i > 0 { out += inner == nil ? "," : ",\n" }
                out += (inner ?? "") + Self.quoted(member.key) + (inner == nil ? ":" : " : ")
                member.value.write(into: &out, keyOrder: keyOrder, indent: inner)
            }
            if let indent { out += (members.isEmpty ? "" : "\n") + indent }
            out += "}"
        }
    }

    static func numberText(_ n: Double) -> String {
        guard n.isFinite else { return "null" }
        if n == n.rounded(), abs(n) < 9.0e15 { return String(Int64(n)) }
        return "\(n)"
    }

    /// An integer.
    public init(_ value: Int) { self = .number(Double(value)) }

    /// A number.
    public init(_ value: Double) { self = .number(value) }

    /// A string.
    public init(_ value: String) { self = .string(value) }

    /// A boolean.
    public init(_ value: Bool) { self = .bool(value) }

    /// An integer, or `null` for nil.
    public init(_ value: Int?) { self = value.map { .number(Double($0)) } ?? .null }

    /// A string, or `null` for nil.
    public init(_ value: String?) { self = value.map(JSONValue.string) ?? .null }

    /// An object of `members` in their order; a key given twice is a programmer error.
    public init(members: [(key: String, value: JSONValue)]) {
        precondition(Self.hasUniqueKeys(members), "a JSON object built with a key given twice")
        self = .object(members)
    }

    static func hasUniqueKeys(_ members: [(key: String, value: JSONValue)]) -> Bool {
        var seen = Set<[UInt32]>()
        return members.allSatisfy { seen.insert($0.key.unicodeScalars.map(\.value)).inserted }
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// An object whose members keep the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(members: elements.map { (key: $0.0, value: $0.1) })
    }
}
