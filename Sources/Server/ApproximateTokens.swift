import Foundation

/// Token counts for an endpoint without a tokenizer: a word, a number or a punctuation mark is one token,
/// as a byte-level BPE vocabulary of common English words roughly counts them.
public enum ApproximateTokens {
    /// The `[start, end)` Unicode scalar ranges of the pieces of `text`: a run of letters, digits or
    /// apostrophes with the spaces before it, or one other character with the spaces before it.
    public static func pieces(_ text: String) -> [Range<Int>] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [Range<Int>] = []
        var index = 0
        func isWord(_ s: Unicode.Scalar) -> Bool {
            s.properties.isAlphabetic || s.properties.numericType != nil || s == "'"
        }
        while index < scalars.count {
            let start = index
            while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
            guard index < scalars.count else {
                // Trailing white space belongs to the last piece (or is the only one).
                let first = pieces.popLast()?.lowerBound ?? start
                pieces.append(first..<scalars.count)
                break
            }
            if isWord(scalars[index]) {
                while index < scalars.count, isWord(scalars[index]) { index += 1 }
            } else {
                index += 1
            }
            pieces.append(start..<index)
        }
        return pieces
    }

    /// How many tokens `text` counts as.
    public static func count(_ text: String) -> Int { pieces(text).count }

    /// `text` cut after its first `limit` tokens, and whether it was cut.
    public static func prefix(_ text: String, tokens limit: Int) -> (text: String, cut: Bool) {
        let all = pieces(text)
        guard all.count > limit else { return (text, false) }
        let end = limit > 0 ? all[limit - 1].upperBound : 0
        var view = String.UnicodeScalarView()
        view.append(contentsOf: Array(text.unicodeScalars)[..<end])
        return (String(view), true)
    }
}
