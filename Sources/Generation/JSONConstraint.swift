/// A character-level recogniser of JSON-object prefixes, for `response_format: json_object`: at each step
/// only tokens whose text keeps the output a prefix of one JSON object may be drawn, and the sequence stops
/// once the object is closed.
///
/// Grammar (RFC 8259) with one restriction: the top-level value must be an object. With a `QuoteRule`, the
/// strings in the arrays of its top-level keys must also be non-empty verbatim substrings of its source text
/// (a reward model quoting the response it critiques can then only quote what is there); the object then
/// also holds each top-level key once, closes only once every ruled key is in it, and has at most 16 white
/// space characters in a row between tokens (a weak model otherwise repeats keys or loops on newlines). A rule
/// with `taggedWords` asks for more: the ruled array holds exactly one string per word, the k-th being one tag
/// followed by the k-th word verbatim (a dense labelling of every word).
public struct JSONPrefix: Sendable, Equatable {
    enum Container: Sendable, Equatable { case object, array }

    /// Strings inside the arrays of `keys` (top-level keys) must be non-empty substrings of `source`, at most
    /// `maxQuotes` per array when set; with `taggedWords`, the k-th string is a tag and the k-th word instead.
    public struct QuoteRule: Sendable, Equatable {
        public var keys: Set<String>
        public var source: String
        public var maxQuotes: Int?
        public var taggedWords: TaggedWords?

        public init(keys: Set<String>, source: String, maxQuotes: Int? = nil, taggedWords: TaggedWords? = nil) {
            self.keys = keys
            self.source = source
            self.maxQuotes = maxQuotes
            self.taggedWords = taggedWords
        }
    }

    /// The words in order and the tags one of which precedes each.
    public struct TaggedWords: Sendable, Equatable {
        public var words: [String]
        public var tags: [Unicode.Scalar]

        public init(words: [String], tags: [Unicode.Scalar]) {
            self.words = words
            self.tags = tags
        }
    }

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
    /// The rule's source as scalars, when there is a rule.
    let quoteSource: [Unicode.Scalar]?
    let quoteKeys: Set<String>
    let maxQuotes: Int
    /// With `TaggedWords`: each word's scalars, and the tags.
    let words: [[Unicode.Scalar]]?
    let tags: Set<Unicode.Scalar>
    /// Quotes so far in the ruled array being read.
    var quoteCount = 0
    /// The unescaped text so far of the string being read, when it is a top-level key or a ruled quote.
    var text: [Unicode.Scalar] = []
    /// The top-level key whose value is being read, and whether the string being read is a ruled quote.
    var topKey = ""
    var quoting = false
    /// The code point of a `\u` escape being read.
    var hex: UInt32 = 0
    /// Under a rule: the top-level keys written so far (none may repeat, and the object closes only once every
    /// ruled key is there), and the white space run outside strings.
    var seenKeys: Set<String> = []
    var spaces = 0
    static let maxSpaces = 16

    public init(quotes: QuoteRule? = nil) {
        quoteSource = quotes.map { Array($0.source.unicodeScalars) }
        quoteKeys = quotes?.keys ?? []
        words = quotes?.taggedWords.map { $0.words.map { Array($0.unicodeScalars) } }
        tags = Set(quotes?.taggedWords?.tags ?? [])
        maxQuotes = words?.count ?? quotes?.maxQuotes ?? .max
    }

    /// Whether the value being read is an element of a ruled array.
    var inRuledArray: Bool { quoteSource != nil && stack == [.object, .array] && quoteKeys.contains(topKey) }

    /// True once the top-level object is closed.
    public var isComplete: Bool { state == .done }

    /// Feeds every character of `text`; false (and the state is then meaningless) when the text breaks JSON.
    public mutating func feed(_ text: String) -> Bool {
        for scalar in text.unicodeScalars where !feed(scalar) { return false }
        return true
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\n" || c == "\t" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar) -> Bool {
        if quoteSource != nil {
            // Under a rule (a reward model's compact answer), a run of white space between tokens is short.
            if case .string = state {
                spaces = 0
            } else if Self.isSpace(c) {
                spaces += 1
                if spaces > Self.maxSpaces { return false }
            } else {
                spaces = 0
            }
        }
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
            if c == "\"" { state = .string(key: true, escape: 0); text = []; return true }
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
            case (",", .array?):
                if inRuledArray && quoteCount >= maxQuotes { return false }  // full: the array can only close
                state = .value
                return true
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
        case _ where inRuledArray && words != nil && c != "\"":
            return false  // a tagged word list holds strings only
        case "{": stack.append(.object); state = .keyOrEnd
        case "[":
            stack.append(.array)
            state = .valueOrEnd
            quoteCount = 0
        case "\"":
            state = .string(key: false, escape: 0)
            quoting = inRuledArray
            text = []
            if quoting {
                // Nothing to quote, or the array full: it can only close.
                if quoteSource!.isEmpty || quoteCount >= maxQuotes { return false }
                quoteCount += 1
            }
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
        if container == .array && inRuledArray && words != nil && quoteCount < maxQuotes { return false }
        if quoteSource != nil && stack.count == 1 && !quoteKeys.isSubset(of: seenKeys) { return false }
        stack.removeLast()
        state = stack.isEmpty ? .done : .afterValue
        return true
    }

    private mutating func string(_ c: Unicode.Scalar, isKey: Bool, escape: Int) -> Bool {
        switch escape {
        case 0:
            if c == "\"" {
                if quoting {
                    guard !text.isEmpty else { return false }
                    if let words, text.count != words[quoteCount - 1].count + 1 { return false }
                    quoting = false
                }
                if isKey && stack.count == 1 {
                    topKey = String(String.UnicodeScalarView(text))
                    if quoteSource != nil && !seenKeys.insert(topKey).inserted { return false }
                }
                state = isKey ? .colon : .afterValue
                return true
            }
            if c == "\\" {
                state = .string(key: isKey, escape: 1)
                return !quoting || continuable { $0.value <= 0xFFFF }  // any escape writes a BMP scalar
            }
            return c.value >= 0x20 && read(c, isKey: isKey)
        case 1:
            if c == "u" { hex = 0; state = .string(key: isKey, escape: 5); return true }
            let escaped: [Unicode.Scalar: Unicode.Scalar] = ["\"": "\"", "\\": "\\", "/": "/", "b": "\u{8}", "f": "\u{C}",
                                                             "n": "\n", "r": "\r", "t": "\t"]
            guard let unescaped = escaped[c] else { return false }
            state = .string(key: isKey, escape: 0)
            return read(unescaped, isKey: isKey)
        default:
            guard c.properties.isASCIIHexDigit, let digit = UInt32(String(c), radix: 16) else { return false }
            hex = hex * 16 + digit
            guard escape == 2 else {
                state = .string(key: isKey, escape: escape - 1)
                // The digits so far must begin the code of a scalar that continues the quote.
                let shift = UInt32(4 * (escape - 2)), prefix = hex
                return !quoting || continuable { $0.value <= 0xFFFF && $0.value >> shift == prefix }
            }
            state = .string(key: isKey, escape: 0)
            // A surrogate half cannot be checked against the source alone; only ruled quotes refuse it.
            guard let scalar = Unicode.Scalar(hex) else { return !quoting }
            return read(scalar, isKey: isKey)
        }
    }

    /// Keeps the string's text where it matters; false when a ruled quote stops being a substring of the source.
    private mutating func read(_ c: Unicode.Scalar, isKey: Bool) -> Bool {
        guard quoting || (isKey && stack.count == 1) else { return true }
        text.append(c)
        guard quoting else { return true }
        return allowed(text)
    }

    /// Whether a ruled quote's text can still become what the rule asks: a substring of the source, or the
    /// current word after its tag.
    private func allowed(_ text: [Unicode.Scalar]) -> Bool {
        guard let source = quoteSource else { return true }
        guard let words else { return Self.occurs(text, in: source) }
        let word = words[quoteCount - 1]
        guard let tag = text.first, tags.contains(tag), text.count - 1 <= word.count else { return false }
        return zip(text.dropFirst(), word).allSatisfy { $0 == $1 }
    }

    /// Whether some scalar that `accepts` extends the ruled quote's text to an allowed one.
    private func continuable(_ accepts: (Unicode.Scalar) -> Bool) -> Bool {
        guard let source = quoteSource else { return true }
        let alphabet = words.map { tags.union($0[quoteCount - 1]) } ?? Set(source)
        return alphabet.contains { accepts($0) && allowed(text + [$0]) }
    }

    /// Whether `needle` occurs in `haystack` (naive search: quotes and responses are short).
    static func occurs(_ needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        var start = 0
        while start + needle.count <= haystack.count {
            var i = 0
            while i < needle.count && haystack[start + i] == needle[i] { i += 1 }
            if i == needle.count { return true }
            start += 1
        }
        return false
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
