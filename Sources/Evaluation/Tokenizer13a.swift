/// sacrebleu's default `13a` tokenizer (mteval-v13a's), and the Python string operations BLEU relies on.
///
/// Everything works on Unicode scalars, the unit of Python's `str`: a Swift `Character` would merge
/// "\r\n" or a letter and its combining accent into one element and change what the regular expressions
/// see. Whitespace is Python's `str.isspace` set, which `split()` and `rstrip()` use.
public enum Tokenizer13a {
    typealias Scalars = [Unicode.Scalar]

    /// The tokenized line, tokens joined by single spaces.
    public static func tokenize(_ line: String) -> String {
        String(String.UnicodeScalarView(tokenize(Array(line.unicodeScalars))))
    }

    static func tokenize(_ input: Scalars) -> Scalars {
        var line = replacing(input, "<skipped>", "")
        line = replacing(line, "-\n", "")
        line = replacing(line, "\n", " ")
        if line.contains("&") {
            line = replacing(line, "&quot;", "\"")
            line = replacing(line, "&amp;", "&")
            line = replacing(line, "&lt;", "<")
            line = replacing(line, "&gt;", ">")
        }
        return regexpTokenize([" "] + line + [" "])
    }

    /// sacrebleu's `TokenizerRegexp`: four substitutions, then whitespace normalised.
    static func regexpTokenize(_ input: Scalars) -> Scalars {
        // 1. ([\{-\~\[-\` -\&\(-\+\:-\@\/]) → " \1 ": ASCII punctuation and symbols except ' , - .
        var line = Scalars()
        line.reserveCapacity(input.count * 2)
        for c in input {
            if isSeparatedSymbol(c) {
                line.append(" ")
                line.append(c)
                line.append(" ")
            } else {
                line.append(c)
            }
        }
        // 2. ([^0-9])([\.,]) → "\1 \2 "   3. ([\.,])([^0-9]) → " \1 \2"   4. ([0-9])(-) → "\1 \2 "
        line = substitutePairs(line, { !isDigit($0) }, isPeriodOrComma) { [$0, " ", $1, " "] }
        line = substitutePairs(line, isPeriodOrComma, { !isDigit($0) }) { [" ", $0, " ", $1] }
        line = substitutePairs(line, isDigit, { $0 == "-" }) { [$0, " ", $1, " "] }
        return joinedWords(line)
    }

    static func isSeparatedSymbol(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    static func isPeriodOrComma(_ c: Unicode.Scalar) -> Bool { c == "." || c == "," }

    /// `re.sub` of a two-character pattern: leftmost matches, not overlapping, scanning resumes after each.
    static func substitutePairs(
        _ s: Scalars, _ first: (Unicode.Scalar) -> Bool, _ second: (Unicode.Scalar) -> Bool,
        _ replacement: (Unicode.Scalar, Unicode.Scalar) -> Scalars
    ) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count && first(s[i]) && second(s[i + 1]) {
                out.append(contentsOf: replacement(s[i], s[i + 1]))
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Python's `str.replace`: every non-overlapping occurrence, left to right.
    static func replacing(_ s: Scalars, _ target: String, _ replacement: String) -> Scalars {
        let pattern = Array(target.unicodeScalars)
        let substitute = Array(replacement.unicodeScalars)
        guard s.count >= pattern.count else { return s }
        var out = Scalars()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + pattern.count <= s.count && s[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: substitute)
                i += pattern.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Python's `str.isspace`: bidirectional class WS, B or S, or general category Zs.
    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python's `str.split()` with no separator.
    static func words(_ s: Scalars) -> [Scalars] {
        s.split(whereSeparator: isPythonSpace).map(Array.init)
    }

    /// `" ".join(s.split())`.
    static func joinedWords(_ s: Scalars) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(s.count)
        for word in s.split(whereSeparator: isPythonSpace) {
            if !out.isEmpty { out.append(" ") }
            out.append(contentsOf: word)
        }
        return out
    }

    /// Python's `str.rstrip()`.
    static func rstripped(_ s: Scalars) -> Scalars {
        var end = s.count
        while end > 0 && isPythonSpace(s[end - 1]) { end -= 1 }
        return Array(s[..<end])
    }

    /// Python's `str.lower()`: each scalar's full lower-case mapping, and Σ as final ς at the end of a word
    /// (a cased letter before it, none after, case-ignorable characters skipped both ways).
    static func pythonLowercased(_ s: Scalars) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c.isASCII {
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
            } else if c == "\u{03A3}" {
                out.append(isFinalSigma(s, i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    static func isFinalSigma(_ s: Scalars, _ index: Int) -> Bool {
        var j = index - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        j = index + 1
        while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
        return !(j < s.count && s[j].properties.isCased)
    }
}
