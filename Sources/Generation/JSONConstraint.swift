/// A character-level recogniser of JSON-object prefixes, for `response_format: json_object`: at each step
/// only tokens whose text keeps the output a prefix of one JSON object may be drawn, and the sequence stops
/// once the object is closed.
///
/// Grammar (RFC 8259) with one restriction: the top-level value must be an object.
public struct JSONPrefix: Sendable, Equatable {
    enum Container: Sendable, Equatable { case object, array }

    enum State: Sendable, Equatable {
        case start                  // before the top-level '{'
        case value                  // a value must come
        case valueOrEnd             // after '[': a value or ']'
        case keyOrEnd               // after '{': a key or '}'
        case key                    // after ',' in an object: a key
        case colon                  // after a key
        case afterValue             // ',' or the container's end
        case string(key: Bool, escape: Int)  // escape 0: none, 1: after '\', 2...5: hex digits left + 1
        case number(NumberPhase)
        case literal(rest: [Character])
        case done
    }

    enum NumberPhase: Sendable, Equatable { case minus, zero, integer, dot, fraction, exponentMark, exponentSign, exponent }

    var state = State.start
    var stack: [Container] = []

    public init() {}

    /// True once the top-level object is closed.
    public var isComplete: Bool { state == .done }

    /// Feeds every character of `text`; false (and the state is then meaningless) when the text breaks JSON.
    public mutating func feed(_ text: String) -> Bool {
        for scalar in text.unicodeScalars where !feed(scalar) { return false }
        return true
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\n" || c == "\t" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar) -> Bool {
        switch state {
        case .done:
            return false
        case .start:
            if Self.isSpace(c) { return true }
            guard c == "{" else { return false }
            stack.append(.object)
            state = .keyOrEnd
            return true
        case .keyOrEnd, .key:
            if Self.isSpace(c) { return true }
            if c == "\"" { state = .string(key: true, escape: 0); return true }
            if c == "}" && state == .keyOrEnd { return close(.object) }
            return false
        case .colon:
            if Self.isSpace(c) { return true }
            guard c == ":" else { return false }
            state = .value
            return true
        case .value, .valueOrEnd:
            if Self.isSpace(c) { return true }
            if c == "]" && state == .valueOrEnd { return close(.array) }
            return startValue(c)
        case .afterValue:
            if Self.isSpace(c) { return true }
            switch (c, stack.last) {
            case (",", .object?): state = .key; return true
            case (",", .array?): state = .value; return true
            case ("}", .object?): return close(.object)
            case ("]", .array?): return close(.array)
            default: return false
            }
        case let .string(isKey, escape):
            return string(c, isKey: isKey, escape: escape)
        case let .number(phase):
            return number(c, phase: phase)
        case let .literal(rest):
            guard let first = rest.first, Character(c) == first else { return false }
            state = rest.count == 1 ? .afterValue : .literal(rest: Array(rest.dropFirst()))
            return true
        }
    }

    private mutating func startValue(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "{": stack.append(.object); state = .keyOrEnd
        case "[": stack.append(.array); state = .valueOrEnd
        case "\"": state = .string(key: false, escape: 0)
        case "-": state = .number(.minus)
        case "0": state = .number(.zero)
        case "1"..."9": state = .number(.integer)
        case "t": state = .literal(rest: Array("rue"))
        case "f": state = .literal(rest: Array("alse"))
        case "n": state = .literal(rest: Array("ull"))
        default: return false
        }
        return true
    }

    private mutating func close(_ container: Container) -> Bool {
        guard stack.last == container else { return false }
        stack.removeLast()
        state = stack.isEmpty ? .done : .afterValue
        return true
    }

    private mutating func string(_ c: Unicode.Scalar, isKey: Bool, escape: Int) -> Bool {
        switch escape {
        case 0:
            if c == "\"" { state = isKey ? .colon : .afterValue; return true }
            if c == "\\" { state = .string(key: isKey, escape: 1); return true }
            return c.value >= 0x20
        case 1:
            if c == "u" { state = .string(key: isKey, escape: 5); return true }
            guard "\"\\/bfnrt".unicodeScalars.contains(c) else { return false }
            state = .string(key: isKey, escape: 0)
            return true
        default:
            guard c.properties.isASCIIHexDigit else { return false }
            state = .string(key: isKey, escape: escape == 2 ? 0 : escape - 1)
            return true
        }
    }

    private mutating func number(_ c: Unicode.Scalar, phase: NumberPhase) -> Bool {
        let digit = ("0"..."9").contains(c)
        switch (phase, c) {
        case (.minus, "0"): state = .number(.zero); return true
        case (.minus, _) where digit: state = .number(.integer); return true
        case (.integer, _) where digit: return true
        case (.zero, "."), (.integer, "."): state = .number(.dot); return true
        case (.dot, _) where digit: state = .number(.fraction); return true
        case (.fraction, _) where digit: return true
        case (.zero, "e"), (.zero, "E"), (.integer, "e"), (.integer, "E"), (.fraction, "e"), (.fraction, "E"):
            state = .number(.exponentMark); return true
        case (.exponentMark, "+"), (.exponentMark, "-"): state = .number(.exponentSign); return true
        case (.exponentMark, _) where digit, (.exponentSign, _) where digit: state = .number(.exponent); return true
        case (.exponent, _) where digit: return true
        case (.zero, _), (.integer, _), (.fraction, _), (.exponent, _):
            // The number ended; the character belongs to what follows it.
            state = .afterValue
            return feed(c)
        default:
            return false
        }
    }
}
