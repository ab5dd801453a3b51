/// The regular expressions of the families' Split and ByteLevel pre-tokenizers, as hand-written matchers.
///
/// `tokenizers` runs these with Oniguruma; each matcher here follows the alternation order and
/// backtracking of its regex exactly, over Unicode scalars, so it finds the same leftmost matches
/// several times faster than a general engine. Unknown regexes are rejected when loading.
enum SplitPattern: Equatable {
    /// GPT-2 / ByteLevel: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3 (`\p{N}{1,3}`) and Qwen2 (`\p{N}`): case-insensitive contractions, letters with one leading
    /// non-letter, digit runs, punctuation with trailing newlines, newline runs, spaces.
    case cl100k(maxDigits: Int)
    /// A literal string.
    case literal([Unicode.Scalar])

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"#
        + #" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"#
        + #" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The matcher for a Split regex, or nil when the regex is not one of the known ones.
    static func forRegex(_ regex: String) -> SplitPattern? {
        switch regex {
        case gpt2Regex: return .gpt2
        case llama3Regex: return .cl100k(maxDigits: 3)
        case qwen2Regex: return .cl100k(maxDigits: 1)
        default: return nil
        }
    }

    /// Non-overlapping leftmost matches inside `range` of `s`, in order.
    func matches(_ s: [Unicode.Scalar], _ range: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = range.lowerBound
        let n = range.upperBound
        while i < n {
            let end: Int
            switch self {
            case .gpt2: end = SplitPattern.matchGPT2(s, i, n)
            case .cl100k(let maxDigits): end = SplitPattern.matchCL100K(s, i, n, maxDigits: maxDigits)
            case .literal(let p):
                if p.isEmpty { return out }
                if i + p.count <= n, s[i] == p[0], s[i..<i + p.count].elementsEqual(p) {
                    end = i + p.count
                } else {
                    i += 1
                    continue
                }
            }
            if end > i {
                out.append(i..<end)
                i = end
            } else {
                i += 1
            }
        }
        return out
    }

    @inline(__always) private static func v(_ s: [Unicode.Scalar], _ i: Int) -> UInt32 { s[i].value }

    /// End of the run of scalars from `i` whose class flags satisfy `test`.
    @inline(__always)
    private static func run(_ s: [Unicode.Scalar], _ i: Int, _ n: Int, _ test: (UInt8) -> Bool) -> Int {
        var j = i
        while j < n, test(UnicodeClass.flags(s[j])) { j += 1 }
        return j
    }

    private static func contraction(_ s: [Unicode.Scalar], _ i: Int, _ n: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < n else { return i }
        func lower(_ k: Int) -> UInt32 {
            let c = v(s, k)
            return caseInsensitive && c >= 65 && c <= 90 ? c + 32 : c
        }
        let a = lower(i + 1)
        if a == 115 || a == 116 || a == 109 || a == 100 { return i + 2 }  // s t m d
        if i + 2 < n {
            let b = lower(i + 2)
            if (a == 114 && b == 101) || (a == 118 && b == 101) || (a == 108 && b == 108) { return i + 3 }  // re ve ll
        }
        return i
    }

    private static let letter = UnicodeClass.letter
    private static let number = UnicodeClass.number
    private static let space = UnicodeClass.whitespace

    static func matchGPT2(_ s: [Unicode.Scalar], _ i: Int, _ n: Int) -> Int {
        let c = contraction(s, i, n, caseInsensitive: false)
        if c > i { return c }
        let first = UnicodeClass.flags(s[i])
        let start = (s[i] == " " && i + 1 < n) ? i + 1 : i
        let f = start == i ? first : UnicodeClass.flags(s[start])
        if f & letter != 0 { return run(s, start, n) { $0 & letter != 0 } }
        if f & number != 0 { return run(s, start, n) { $0 & number != 0 } }
        if f & (letter | number | space) == 0 { return run(s, start, n) { $0 & (letter | number | space) == 0 } }
        return whitespace(s, i, n)
    }

    /// `\s+(?!\S)|\s+` at `i` (which must be whitespace).
    private static func whitespace(_ s: [Unicode.Scalar], _ i: Int, _ n: Int) -> Int {
        let e = run(s, i, n) { $0 & space != 0 }
        if e == n || e - i == 1 { return e }
        return e - 1
    }

    @inline(__always) private static func isCRLF(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }

    static func matchCL100K(_ s: [Unicode.Scalar], _ i: Int, _ n: Int, maxDigits: Int) -> Int {
        let c = contraction(s, i, n, caseInsensitive: true)
        if c > i { return c }
        let f = UnicodeClass.flags(s[i])
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if f & letter != 0 { return run(s, i, n) { $0 & letter != 0 } }
        if f & number == 0, !isCRLF(s[i]), i + 1 < n, UnicodeClass.isLetter(s[i + 1]) {
            return run(s, i + 1, n) { $0 & letter != 0 }
        }
        // \p{N}{1,maxDigits}
        if f & number != 0 {
            var j = i
            while j < n, j - i < maxDigits, UnicodeClass.isNumber(s[j]) { j += 1 }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var start = -1
        if f & (letter | number | space) == 0 {
            start = i
        } else if s[i] == " ", i + 1 < n, UnicodeClass.flags(s[i + 1]) & (letter | number | space) == 0 {
            start = i + 1
        }
        if start >= 0 {
            var j = run(s, start, n) { $0 & (letter | number | space) == 0 }
            while j < n, isCRLF(s[j]) { j += 1 }
            return j
        }
        // \s*[\r\n]+ : the whitespace run up to and including its last newline.
        let e = run(s, i, n) { $0 & space != 0 }
        var k = e - 1
        while k >= i, !isCRLF(s[k]) { k -= 1 }
        if k >= i { return k + 1 }
        // \s+(?!\S)|\s+
        if e == n || e - i == 1 { return e }
        return e - 1
    }
}
