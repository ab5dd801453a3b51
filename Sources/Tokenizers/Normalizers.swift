import Foundation

/// A `tokenizers` normalizer: rewrites text while keeping every scalar aligned to the original.
protocol Normalizer: Sendable {
    func normalize(_ text: NormalizedText) -> NormalizedText
}

/// Builds the normalizer described at `node` (a `normalizer` object of tokenizer.json).
func makeNormalizer(_ node: JSONNode) throws -> Normalizer? {
    if node.isNull { return nil }
    let type = try node.typeName()
    switch type {
    case "Sequence":
        return SequenceNormalizer(steps: try node["normalizers"].array().compactMap(makeNormalizer))
    case "NFC": return UnicodeNormalizer(form: .nfc)
    case "NFD": return UnicodeNormalizer(form: .nfd)
    case "NFKC": return UnicodeNormalizer(form: .nfkc)
    case "NFKD": return UnicodeNormalizer(form: .nfkd)
    case "Prepend": return PrependNormalizer(prefix: Array(try node["prepend"].string().unicodeScalars))
    case "Replace":
        let pattern = node["pattern"]
        guard let literal = try pattern["String"].optionalString() else { throw pattern.unsupported() }
        return ReplaceNormalizer(
            pattern: Array(literal.unicodeScalars),
            content: Array(try node["content"].string().unicodeScalars))
    case "Lowercase": return LowercaseNormalizer()
    case "Strip":
        return StripNormalizer(left: try node["left"].bool(default: true), right: try node["right"].bool(default: true))
    default:
        throw node["type"].unsupported()
    }
}

struct SequenceNormalizer: Normalizer {
    let steps: [Normalizer]
    func normalize(_ text: NormalizedText) -> NormalizedText {
        steps.reduce(text) { $1.normalize($0) }
    }
}

/// `Prepend`: inserts a prefix before non-empty text, aligned like the first scalar.
struct PrependNormalizer: Normalizer {
    let prefix: [Unicode.Scalar]
    func normalize(_ text: NormalizedText) -> NormalizedText {
        text.count == 0 ? text : text.slice(0..<text.count, prefix: prefix)
    }
}

/// `Replace` with a literal pattern; the replacement is aligned like the first replaced scalar.
struct ReplaceNormalizer: Normalizer {
    let pattern: [Unicode.Scalar]
    let content: [Unicode.Scalar]
    func normalize(_ text: NormalizedText) -> NormalizedText {
        guard !pattern.isEmpty else { return text }
        var out = NormalizedText()
        out.reserve(text.count)
        var i = 0
        let n = text.count
        while i < n {
            if text.scalars[i] == pattern[0], i + pattern.count <= n,
                pattern.count == 1 || Array(text.scalars[i..<i + pattern.count]) == pattern
            {
                for c in content { out.append(c, start: text.starts[i], end: text.ends[i]) }
                i += pattern.count
            } else {
                out.append(from: text, at: i)
                i += 1
            }
        }
        return out
    }
}

struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: NormalizedText) -> NormalizedText {
        var out = NormalizedText()
        out.reserve(text.count)
        for i in 0..<text.count {
            let s = text.scalars[i]
            if s.value < 0x80 {
                let v = s.value
                out.append(from: text, at: i, scalar: (v >= 65 && v <= 90) ? Unicode.Scalar(v + 32)! : s)
            } else {
                for c in s.properties.lowercaseMapping.unicodeScalars {
                    out.append(c, start: text.starts[i], end: text.ends[i])
                }
            }
        }
        return out
    }
}

struct StripNormalizer: Normalizer {
    let left: Bool
    let right: Bool
    func normalize(_ text: NormalizedText) -> NormalizedText {
        var lo = 0
        var hi = text.count
        if left { while lo < hi, UnicodeClass.isWhitespace(text.scalars[lo]) { lo += 1 } }
        if right { while hi > lo, UnicodeClass.isWhitespace(text.scalars[hi - 1]) { hi -= 1 } }
        return text.slice(lo..<hi)
    }
}

/// NFC / NFD / NFKC / NFKD with `tokenizers`' alignment rule.
///
/// The text is cut into chunks that normalize independently (a starter and the marks after it); a chunk
/// that changes is re-aligned greedily: each output scalar consumes original scalars until their
/// decompositions cover its own, so a composed `é` from `e` + U+0301 is aligned to the `e` alone
/// and an expansion (`ﬁ` → `f` `i`) aligns the extra scalars with the first, as `tokenizers` does.
struct UnicodeNormalizer: Normalizer {
    enum Form { case nfc, nfd, nfkc, nfkd }
    let form: Form

    private func apply(_ s: String) -> String {
        switch form {
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        }
    }

    private func decomposedLength(_ s: Unicode.Scalar) -> Int {
        let compatible = form == .nfkc || form == .nfkd
        let string = String(Character(s))
        let d =
            compatible ? string.decomposedStringWithCompatibilityMapping : string.decomposedStringWithCanonicalMapping
        return max(1, d.unicodeScalars.count)
    }

    func normalize(_ text: NormalizedText) -> NormalizedText {
        // Scalars below U+0300 are stable under every form and never combine with what precedes them.
        if form == .nfc || form == .nfd, !text.scalars.contains(where: { $0.value >= 0xC0 }) { return text }
        var out = NormalizedText()
        out.reserve(text.count)
        var i = 0
        let n = text.count
        while i < n {
            // A chunk: one scalar plus the following scalars that are not plain ASCII.
            var j = i + 1
            while j < n, text.scalars[j].value >= 0x80,
                text.scalars[j].properties.canonicalCombiningClass.rawValue != 0
                    || isComposingStarter(text.scalars[j])
            { j += 1 }
            if j == i + 1, text.scalars[i].value < 0xC0 {
                out.append(from: text, at: i)
                i = j
                continue
            }
            var chunk = String.UnicodeScalarView()
            chunk.append(contentsOf: text.scalars[i..<j])
            let normalized = Array(apply(String(chunk)).unicodeScalars)
            if normalized.elementsEqual(text.scalars[i..<j]) {
                for k in i..<j { out.append(from: text, at: k) }
            } else {
                align(normalized, original: i..<j, text: text, into: &out)
            }
            i = j
        }
        return out
    }

    /// Starters that can combine with a preceding scalar (Hangul vowels and trailing consonants, some
    /// Indic and other vowel signs are starters with combining class 0).
    private func isComposingStarter(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v >= 0x1161 && v <= 0x11FF { return true }
        switch s.properties.generalCategory {
        case .spacingMark, .nonspacingMark, .enclosingMark: return true
        default: return false
        }
    }

    private func align(
        _ output: [Unicode.Scalar], original: Range<Int>, text: NormalizedText,
        into out: inout NormalizedText
    ) {
        var cursor = original.lowerBound
        var credit = 0
        var lastStart = text.starts[original.lowerBound]
        var lastEnd = text.ends[original.lowerBound]
        for scalar in output {
            let need = decomposedLength(scalar)
            if credit >= need || cursor >= original.upperBound {
                credit = max(0, credit - need)
                out.append(scalar, start: lastStart, end: lastEnd)
                continue
            }
            lastStart = text.starts[cursor]
            lastEnd = text.ends[cursor]
            var covered = credit
            while covered < need, cursor < original.upperBound {
                covered += decomposedLength(text.scalars[cursor])
                cursor += 1
            }
            credit = covered - need
            out.append(scalar, start: lastStart, end: lastEnd)
        }
    }
}
