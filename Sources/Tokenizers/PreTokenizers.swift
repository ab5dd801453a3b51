/// A `tokenizers` pre-tokenizer: splits each piece of normalized text into smaller pieces.
///
/// Pieces are ranges of one `NormalizedText`; a pre-tokenizer that inserts or replaces scalars
/// (Metaspace, ByteLevel with a prefix space) rewrites the text and returns ranges into the new one.
protocol PreTokenizer: Sendable {
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>]
    /// True when the pieces are turned into bytes (ByteLevel), which the model must then work on.
    var isByteLevel: Bool { get }
}

extension PreTokenizer {
    var isByteLevel: Bool { false }
}

/// How a Split keeps the delimiters it finds (`SplitDelimiterBehavior` in `tokenizers`).
enum SplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// Builds the pre-tokenizer described at `node` (a `pre_tokenizer` object of tokenizer.json).
func makePreTokenizer(_ node: JSONNode) throws -> PreTokenizer? {
    if node.isNull { return nil }
    switch try node.typeName() {
    case "Sequence":
        return SequencePreTokenizer(steps: try node["pretokenizers"].array().compactMap(makePreTokenizer))
    case "Split":
        let patternNode = node["pattern"]
        let pattern: SplitPattern
        if let regex = try patternNode["Regex"].optionalString() {
            guard let known = SplitPattern.forRegex(regex) else { throw patternNode["Regex"].unsupported() }
            pattern = known
        } else if let literal = try patternNode["String"].optionalString() {
            pattern = .literal(Array(literal.unicodeScalars))
        } else {
            throw patternNode.malformed("expected {\"Regex\": ...} or {\"String\": ...}")
        }
        let behaviorName = try node["behavior"].string()
        guard let behavior = SplitBehavior(rawValue: behaviorName) else { throw node["behavior"].unsupported() }
        return SplitPreTokenizer(pattern: pattern, behavior: behavior, invert: try node["invert"].bool(default: false))
    case "ByteLevel":
        return ByteLevelPreTokenizer(
            addPrefixSpace: try node["add_prefix_space"].bool(default: true),
            useRegex: try node["use_regex"].bool(default: true))
    case "Metaspace":
        let replacement = try node["replacement"].string().unicodeScalars.first ?? "\u{2581}"
        let scheme = try node.metaspacePrependScheme()
        guard ["always", "first", "never"].contains(scheme) else { throw node["prepend_scheme"].unsupported() }
        return MetaspacePreTokenizer(
            replacement: replacement, prependScheme: scheme,
            splitOnReplacement: try node["split"].bool(default: true))
    case "Digits":
        return DigitsPreTokenizer(individual: try node["individual_digits"].bool(default: false))
    case "WhitespaceSplit":
        return ClassSplitPreTokenizer(kind: .whitespaceSplit)
    case "Whitespace":
        return ClassSplitPreTokenizer(kind: .whitespace)
    default:
        throw node["type"].unsupported()
    }
}

struct SequencePreTokenizer: PreTokenizer {
    let steps: [PreTokenizer]
    var isByteLevel: Bool { steps.contains { $0.isByteLevel } }
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>] {
        steps.reduce(pieces) { $1.split(&text, $0) }
    }
}

/// Applies `behavior` to the (match, non-match) ranges covering `piece`, dropping empty pieces.
func applySplit(
    _ piece: Range<Int>, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool,
    into out: inout [Range<Int>]
) {
    var parts: [(Range<Int>, Bool)] = []
    var cursor = piece.lowerBound
    for m in matches {
        if m.lowerBound > cursor { parts.append((cursor..<m.lowerBound, invert)) }
        parts.append((m, !invert))
        cursor = m.upperBound
    }
    if cursor < piece.upperBound { parts.append((cursor..<piece.upperBound, invert)) }
    var result: [Range<Int>] = []
    switch behavior {
    case .isolated:
        result = parts.map { $0.0 }
    case .removed:
        result = parts.filter { !$0.1 }.map { $0.0 }
    case .mergedWithPrevious:
        var previousMatch = false
        for (r, isMatch) in parts {
            if isMatch, !previousMatch, let last = result.last {
                result[result.count - 1] = last.lowerBound..<r.upperBound
            } else {
                result.append(r)
            }
            previousMatch = isMatch
        }
    case .mergedWithNext:
        var previousMatch = false
        for (r, isMatch) in parts.reversed() {
            if isMatch, !previousMatch, let last = result.last {
                result[result.count - 1] = r.lowerBound..<last.upperBound
            } else {
                result.append(r)
            }
            previousMatch = isMatch
        }
        result.reverse()
    case .contiguous:
        var previousMatch = false
        for (r, isMatch) in parts {
            if isMatch == previousMatch, let last = result.last {
                result[result.count - 1] = last.lowerBound..<r.upperBound
            } else {
                result.append(r)
            }
            previousMatch = isMatch
        }
    }
    for r in result where !r.isEmpty { out.append(r) }
}

struct SplitPreTokenizer: PreTokenizer {
    let pattern: SplitPattern
    let behavior: SplitBehavior
    let invert: Bool
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 4)
        for piece in pieces {
            let found = pattern.matches(text.scalars, piece)
            if behavior == .isolated, !invert, found.count > 0, coversAll(found, piece) {
                out.append(contentsOf: found)
            } else {
                applySplit(piece, matches: found, behavior: behavior, invert: invert, into: &out)
            }
        }
        return out
    }

    private func coversAll(_ found: [Range<Int>], _ piece: Range<Int>) -> Bool {
        found.first!.lowerBound == piece.lowerBound && found.last!.upperBound == piece.upperBound
            && found.count == zip(found, found.dropFirst()).filter { $0.upperBound == $1.lowerBound }.count + 1
    }
}

/// Inserts `prefix` before the pieces selected by `shouldPrefix`, rebuilding the text.
func prefixPieces(
    _ text: inout NormalizedText, _ pieces: [Range<Int>], prefix: Unicode.Scalar,
    replace: (Unicode.Scalar) -> Unicode.Scalar = { $0 },
    shouldPrefix: (NormalizedText, Range<Int>) -> Bool
) -> [Range<Int>] {
    var out = NormalizedText()
    out.reserve(text.count + pieces.count)
    var ranges: [Range<Int>] = []
    ranges.reserveCapacity(pieces.count)
    for piece in pieces {
        let start = out.count
        if !piece.isEmpty, shouldPrefix(text, piece) {
            out.append(prefix, start: text.starts[piece.lowerBound], end: text.ends[piece.lowerBound])
        }
        for i in piece { out.append(from: text, at: i, scalar: replace(text.scalars[i])) }
        ranges.append(start..<out.count)
    }
    text = out
    return ranges
}

struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool
    var isByteLevel: Bool { true }
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>] {
        var current = pieces
        if addPrefixSpace {
            current = prefixPieces(&text, current, prefix: " ") { t, r in t.scalars[r.lowerBound] != " " }
        }
        guard useRegex else { return current }
        var out: [Range<Int>] = []
        out.reserveCapacity(current.count * 4)
        for piece in current { out.append(contentsOf: SplitPattern.gpt2.matches(text.scalars, piece)) }
        return out
    }
}

struct MetaspacePreTokenizer: PreTokenizer {
    let replacement: Unicode.Scalar
    let prependScheme: String
    let splitOnReplacement: Bool
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>] {
        let replacement = self.replacement
        let scheme = prependScheme
        let ranges = prefixPieces(&text, pieces, prefix: replacement, replace: { $0 == " " ? replacement : $0 }) {
            t, r in
            // The first scalar is checked after the space → replacement rewrite.
            let first = t.scalars[r.lowerBound] == " " ? replacement : t.scalars[r.lowerBound]
            if first == replacement { return false }
            return scheme == "always" || (scheme == "first" && t.starts[r.lowerBound] == 0)
        }
        guard splitOnReplacement else { return ranges }
        var out: [Range<Int>] = []
        for piece in ranges {
            let found = SplitPattern.literal([replacement]).matches(text.scalars, piece)
            applySplit(piece, matches: found, behavior: .mergedWithNext, invert: false, into: &out)
        }
        return out
    }
}

struct DigitsPreTokenizer: PreTokenizer {
    let individual: Bool
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for piece in pieces {
            let found = piece.filter { UnicodeClass.isNumber(text.scalars[$0]) }.map { $0..<$0 + 1 }
            applySplit(piece, matches: found, behavior: individual ? .isolated : .contiguous, invert: false, into: &out)
        }
        return out
    }
}

/// `WhitespaceSplit` (split on whitespace, dropping it) and `Whitespace` (`\w+|[^\w\s]+`).
struct ClassSplitPreTokenizer: PreTokenizer {
    enum Kind { case whitespaceSplit, whitespace }
    let kind: Kind
    func split(_ text: inout NormalizedText, _ pieces: [Range<Int>]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for piece in pieces {
            var i = piece.lowerBound
            while i < piece.upperBound {
                let f = UnicodeClass.flags(text.scalars[i])
                if f & UnicodeClass.whitespace != 0 {
                    i += 1
                    continue
                }
                var j = i + 1
                let word = f & UnicodeClass.word != 0
                while j < piece.upperBound {
                    let g = UnicodeClass.flags(text.scalars[j])
                    if g & UnicodeClass.whitespace != 0 { break }
                    if kind == .whitespace, (g & UnicodeClass.word != 0) != word { break }
                    j += 1
                }
                out.append(i..<j)
                i = j
            }
        }
        return out
    }
}

extension JSONNode {
    /// A Metaspace component's `prepend_scheme`, or the older `add_prefix_space` flag read as
    /// "always" / "never" (files written before `prepend_scheme` existed).
    func metaspacePrependScheme() throws -> String {
        if self["prepend_scheme"].isNull {
            return try self["add_prefix_space"].bool(default: true) ? "always" : "never"
        }
        return try self["prepend_scheme"].string()
    }
}
