/// An entry of tokenizer.json's `added_tokens`.
public struct AddedToken: Equatable, Sendable {
    /// Token id.
    public let id: Int
    /// The literal text of the token.
    public let content: String
    /// Skipped by `decode(_:skipSpecialTokens: true)`.
    public let special: Bool
    /// Also takes the whitespace on its left.
    public let lstrip: Bool
    /// Also takes the whitespace on its right.
    public let rstrip: Bool
    /// Only matches when not inside a word.
    public let singleWord: Bool
    /// Matched against the normalized text instead of the original.
    public let normalized: Bool
}

/// Finds added tokens in text the way `tokenizers`' AddedVocabulary does: leftmost-longest,
/// non-overlapping, then `single_word` / `lstrip` / `rstrip` applied to each match.
struct AddedTokenMatcher {
    private var patterns: [(scalars: [Unicode.Scalar], token: AddedToken)] = []
    private var byFirst: [UInt32: [Int]] = [:]

    init(_ entries: [(pattern: [Unicode.Scalar], token: AddedToken)]) {
        for (pattern, token) in entries where !pattern.isEmpty {
            patterns.append((pattern, token))
        }
        for (i, p) in patterns.enumerated() { byFirst[p.scalars[0].value, default: []].append(i) }
        for key in byFirst.keys {
            byFirst[key]!.sort { patterns[$0].scalars.count > patterns[$1].scalars.count }
        }
    }

    var isEmpty: Bool { patterns.isEmpty }

    /// Splits `range` of `s` into pieces, each either plain text (token nil) or one added token.
    func split(_ s: [Unicode.Scalar], _ range: Range<Int>) -> [(range: Range<Int>, token: AddedToken?)] {
        if patterns.isEmpty || range.isEmpty { return [(range, nil)] }
        var out: [(range: Range<Int>, token: AddedToken?)] = []
        var cursor = range.lowerBound
        var i = range.lowerBound
        let n = range.upperBound
        while i < n {
            guard let candidates = byFirst[s[i].value] else {
                i += 1
                continue
            }
            var found: (Int, AddedToken)?
            for c in candidates {
                let p = patterns[c].scalars
                if i + p.count <= n, s[i..<i + p.count].elementsEqual(p) {
                    found = (i + p.count, patterns[c].token)
                    break
                }
            }
            guard let (matchEnd, token) = found else {
                i += 1
                continue
            }
            var start = i
            var stop = matchEnd
            i = matchEnd
            if token.singleWord {
                let before = start > range.lowerBound && UnicodeClass.isWord(s[start - 1])
                let after = stop < n && UnicodeClass.isWord(s[stop])
                if before || after { continue }
            }
            if token.lstrip {
                var k = start
                while k > cursor, UnicodeClass.isWhitespace(s[k - 1]) { k -= 1 }
                start = k
            }
            if token.rstrip {
                while stop < n, UnicodeClass.isWhitespace(s[stop]) { stop += 1 }
                i = stop
            }
            if cursor < start { out.append((cursor..<start, nil)) }
            out.append((start..<stop, token))
            cursor = stop
        }
        if cursor < n { out.append((cursor..<n, nil)) }
        return out
    }
}
