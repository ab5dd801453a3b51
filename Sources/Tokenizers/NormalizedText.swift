import Foundation

/// Text being normalized and split, with, for every scalar, the range of original scalars it came from.
///
/// Offsets everywhere in this module are Unicode scalar indices into the original `String` (what Python's
/// `str` indexes, and what Hugging Face `tokenizers` reports as character offsets). A scalar that was
/// inserted (a prepended `▁` or space) carries the alignment of its neighbour, as in `tokenizers`.
struct NormalizedText {
    var scalars: [Unicode.Scalar]
    var starts: [Int]
    var ends: [Int]

    init() {
        scalars = []
        starts = []
        ends = []
    }

    /// Original scalars `range` of `source`, each aligned to itself.
    init(_ source: [Unicode.Scalar], range: Range<Int>) {
        scalars = Array(source[range])
        starts = Array(range)
        ends = Array(range.lowerBound + 1..<range.upperBound + 1)
    }

    var count: Int { scalars.count }

    mutating func reserve(_ n: Int) {
        scalars.reserveCapacity(n)
        starts.reserveCapacity(n)
        ends.reserveCapacity(n)
    }

    mutating func append(_ scalar: Unicode.Scalar, start: Int, end: Int) {
        scalars.append(scalar)
        starts.append(start)
        ends.append(end)
    }

    mutating func append(from other: NormalizedText, at index: Int, scalar: Unicode.Scalar? = nil) {
        append(scalar ?? other.scalars[index], start: other.starts[index], end: other.ends[index])
    }

    /// Original range covered by normalized scalars `range` (`tokenizers` takes the first start and the last end).
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        if range.isEmpty {
            let at = range.lowerBound < count ? starts[range.lowerBound] : (ends.last ?? 0)
            return at..<at
        }
        return starts[range.lowerBound]..<ends[range.upperBound - 1]
    }

    /// A copy of `range` with `prefix` inserted before it, aligned like its first scalar.
    func slice(_ range: Range<Int>, prefix: [Unicode.Scalar] = []) -> NormalizedText {
        var out = NormalizedText()
        out.reserve(range.count + prefix.count)
        if !prefix.isEmpty, !range.isEmpty {
            for p in prefix { out.append(p, start: starts[range.lowerBound], end: ends[range.lowerBound]) }
        }
        for i in range { out.append(from: self, at: i) }
        return out
    }

    var string: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }
}

/// Unicode classes used by the pre-tokenizer patterns, with a table for the Basic Multilingual Plane.
enum UnicodeClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let word: UInt8 = 8

    static let bmp: [UInt8] = (0..<0x10000).map { compute(UInt32($0)) }

    static func compute(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        var flags: UInt8 = 0
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            flags |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            flags |= number
        default:
            break
        }
        if properties.isWhitespace { flags |= whitespace }
        // Rust regex `\w`: Alphabetic, marks, decimal numbers, connector punctuation, Join_Control.
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            flags |= word
        default:
            if properties.isAlphabetic || properties.isJoinControl { flags |= word }
        }
        return flags
    }

    @inline(__always)
    static func flags(_ scalar: Unicode.Scalar) -> UInt8 {
        let v = scalar.value
        return v < 0x10000 ? bmp[Int(v)] : compute(v)
    }

    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool { flags(s) & letter != 0 }
    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool { flags(s) & number != 0 }
    @inline(__always) static func isWhitespace(_ s: Unicode.Scalar) -> Bool { flags(s) & whitespace != 0 }
    @inline(__always) static func isWord(_ s: Unicode.Scalar) -> Bool { flags(s) & word != 0 }
}
