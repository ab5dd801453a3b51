import Foundation

/// A `tokenizers` decoder: turns token strings back into text pieces (joined afterwards).
protocol Decoder: Sendable {
    func decodeChain(_ tokens: [String]) -> [String]
}

/// True when decoding a suffix of the tokens gives a suffix of the full decode (no Strip / Metaspace).
func isContextFree(_ decoder: Decoder?) -> Bool {
    switch decoder {
    case nil: return true
    case is ByteLevelDecoder, is ByteFallbackDecoder, is FuseDecoder, is ReplaceDecoder: return true
    case let sequence as SequenceDecoder: return sequence.steps.allSatisfy { isContextFree($0) }
    default: return false
    }
}

/// Builds the decoder described at `node` (a `decoder` object of tokenizer.json).
func makeDecoder(_ node: JSONNode) throws -> Decoder? {
    if node.isNull { return nil }
    switch try node.typeName() {
    case "Sequence":
        return SequenceDecoder(steps: try node["decoders"].array().compactMap(makeDecoder))
    case "ByteLevel":
        return ByteLevelDecoder()
    case "Metaspace":
        let replacement = try node["replacement"].string().unicodeScalars.first ?? "\u{2581}"
        let scheme = try node.metaspacePrependScheme()
        return MetaspaceDecoder(replacement: Character(replacement), dropOnFirst: scheme != "never")
    case "Replace":
        guard let pattern = try node["pattern"]["String"].optionalString() else { throw node["pattern"].unsupported() }
        return ReplaceDecoder(pattern: pattern, content: try node["content"].string())
    case "ByteFallback":
        return ByteFallbackDecoder()
    case "Fuse":
        return FuseDecoder()
    case "Strip":
        let content = try node["content"].string().unicodeScalars
        guard let scalar = content.first, content.count == 1 else {
            throw node["content"].malformed("expected exactly one character")
        }
        return StripDecoder(content: scalar, start: try node["start"].int(), stop: try node["stop"].int())
    default:
        throw node["type"].unsupported()
    }
}

struct SequenceDecoder: Decoder {
    let steps: [Decoder]
    func decodeChain(_ tokens: [String]) -> [String] { steps.reduce(tokens) { $1.decodeChain($0) } }
}

/// Maps byte-level characters back to bytes; a token with a character outside the alphabet (an added
/// token) contributes its UTF-8 as is. Invalid UTF-8 becomes U+FFFD, as `String::from_utf8_lossy`.
struct ByteLevelDecoder: Decoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for token in tokens {
            if let b = ByteLevelAlphabet.bytes(of: token) { bytes += b } else { bytes += Array(token.utf8) }
        }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

struct MetaspaceDecoder: Decoder {
    let replacement: Character
    let dropOnFirst: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, token in
            var out = ""
            for c in token {
                if c == replacement {
                    if !(i == 0 && dropOnFirst) { out.append(" ") }
                } else {
                    out.append(c)
                }
            }
            return out
        }
    }
}

struct ReplaceDecoder: Decoder {
    let pattern: String
    let content: String
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { $0.replacingOccurrences(of: pattern, with: content) }
    }
}

/// Joins runs of `<0xNN>` tokens into text; a run that is not valid UTF-8 gives one U+FFFD per byte.
struct ByteFallbackDecoder: Decoder {
    static func byte(of token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 60, u[1] == 48, u[2] == 120, u[5] == 62 else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = validUTF8(pending) {
                out.append(s)
            } else {
                out += Array(repeating: "\u{FFFD}", count: pending.count)
            }
            pending.removeAll()
        }
        for token in tokens {
            if let b = ByteFallbackDecoder.byte(of: token) {
                pending.append(b)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }
}

struct FuseDecoder: Decoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Strips up to `start` leading and `stop` trailing copies of `content`, compared as Unicode scalars as
/// `tokenizers` compares Rust `char`s (a space followed by a combining mark is one `Character` in Swift but two
/// scalars, and its space must still be stripped).
struct StripDecoder: Decoder {
    let content: Unicode.Scalar
    let start: Int
    let stop: Int
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { token in
            let scalars = Array(token.unicodeScalars)
            var lo = 0
            while lo < min(start, scalars.count), scalars[lo] == content { lo += 1 }
            var hi = scalars.count
            var removed = 0
            while removed < stop, hi > lo, scalars[hi - 1] == content {
                hi -= 1
                removed += 1
            }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[lo..<hi])
            return String(view)
        }
    }
}

/// Streams text out of token ids as they are generated, never emitting half a UTF-8 character.
///
/// Like `tokenizers`' DecodeStream: it decodes a short window twice, without and with the new ids,
/// and emits the difference once it no longer ends in U+FFFD (an incomplete UTF-8 sequence). The window
/// keeps one already-emitted token in front so decoders that look at neighbours (Metaspace's first-token
/// rule, byte fallback runs, leading-space stripping) see the same context as a full decode.
public struct IncrementalDecoder {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var ids: [Int] = []
    private var prefixOffset = 0
    private var readOffset = 0

    /// A decoder over `tokenizer`, dropping special tokens when `skipSpecialTokens` is true.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one generated id and returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int) -> String {
        ids.append(id)
        let before = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let after = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        guard after.unicodeScalars.count > before.unicodeScalars.count, !after.hasSuffix("\u{FFFD}") else {
            return ""
        }
        let delta = after.unicodeScalars.dropFirst(before.unicodeScalars.count)
        // Decoders that strip or drop leading characters (Strip, Metaspace) depend on where the window
        // starts, so for them the window always starts at the first id.
        if tokenizer.decoderIsContextFree { prefixOffset = readOffset }
        readOffset = ids.count
        return String(String.UnicodeScalarView(delta))
    }

    /// Whatever is still held back (an incomplete character at the end becomes U+FFFD).
    public mutating func finish() -> String {
        let before = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let after = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        prefixOffset = ids.count
        readOffset = ids.count
        guard after.unicodeScalars.count > before.unicodeScalars.count else { return "" }
        return String(String.UnicodeScalarView(after.unicodeScalars.dropFirst(before.unicodeScalars.count)))
    }
}

/// The string for `bytes` when they are valid UTF-8, else nil.
func validUTF8(_ bytes: [UInt8]) -> String? {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var view = String.UnicodeScalarView()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let s): view.append(s)
        case .emptyInput: return String(view)
        case .error: return nil
        }
    }
}
