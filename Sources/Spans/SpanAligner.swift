import Foundation

/// How a quoted span was found in the response.
public enum MatchKind: String, Codable, Sendable, CaseIterable {
    /// Found verbatim.
    case exact
    /// Found after folding case, quotes and whitespace.
    case normalized
    /// Found as the most similar window, at or above the threshold.
    case fuzzy
    /// Not found; `start` and `end` are null.
    case unmatched
}

/// A quote with its place in the response, as written to the record's `spans`.
///
/// `start` and `end` are character offsets into the response counted in Unicode scalars
/// (`response.unicodeScalars`), half-open; `similarity` is measured between the normalized quote
/// and the normalized window (1 for exact and normalized matches, the best seen when unmatched).
public struct AlignedSpan: Codable, Sendable, Equatable {
    /// The quote as the teacher wrote it.
    public var text: String
    /// The label it was listed under.
    public var label: String
    /// The label's score.
    public var score: Double
    /// First scalar of the match, or nil when unmatched.
    public var start: Int?
    /// One past the last scalar of the match, or nil when unmatched.
    public var end: Int?
    /// How it was found.
    public var match: MatchKind
    /// 1 − edit distance / length of the longer of quote and window, on normalized text.
    public var similarity: Double

    /// A span with every field.
    public init(text: String, label: String, score: Double, start: Int?, end: Int?, match: MatchKind, similarity: Double) {
        self.text = text
        self.label = label
        self.score = score
        self.start = start
        self.end = end
        self.match = match
        self.similarity = similarity
    }
}

/// Aligns quotes to offsets in a response.
///
/// Policy for each quote, in answer order:
/// 1. exact search of the quote's scalars in the response;
/// 2. search after normalizing both (lower case, curly quotes to straight, dashes to '-', runs of
///    whitespace to one space, quote trimmed), offsets mapped back to the original scalars;
/// 3. fuzzy: the window of the normalized response with the smallest edit distance to the quote
///    (semi-global alignment), kept if its similarity reaches `fuzzyThreshold`;
/// 4. unmatched.
/// Among candidate occurrences, a quote binds to the first one that overlaps no span bound before
/// it, else the first not bound to exactly the same range, else the first; so a phrase quoted
/// twice binds to two different occurrences when the response has two.
public struct SpanAligner: Sendable {
    /// The similarity a fuzzy window needs (default 0.8).
    public var fuzzyThreshold: Double
    /// Fuzzy search is skipped above this many DP cells (quote length × response length).
    public var fuzzyCellLimit: Int

    /// Creates an aligner.
    public init(fuzzyThreshold: Double = 0.8, fuzzyCellLimit: Int = 20_000_000) {
        self.fuzzyThreshold = fuzzyThreshold
        self.fuzzyCellLimit = fuzzyCellLimit
    }

    /// Aligns every quote; `labels` supplies each quote's score.
    public func align(_ quotes: [QuotedSpan], labels: [SpanLabel], in response: String) -> [AlignedSpan] {
        let original = Array(response.unicodeScalars)
        let folded = Normalized(original)
        var taken: [Range<Int>] = []
        var result: [AlignedSpan] = []
        for quote in quotes {
            let score = labels.first { $0.name == quote.label }?.score ?? 0
            var span = AlignedSpan(
                text: quote.text, label: quote.label, score: score, start: nil, end: nil,
                match: .unmatched, similarity: 0)
            let pattern = Array(quote.text.unicodeScalars)
            let normalizedPattern = Normalized(pattern).trimmed()
            if let range = choose(occurrences(of: pattern, in: original), taken: taken) {
                span.start = range.lowerBound
                span.end = range.upperBound
                span.match = .exact
                span.similarity = 1
            } else if !normalizedPattern.isEmpty,
                let range = choose(
                    occurrences(of: normalizedPattern, in: folded.scalars).map(folded.originalRange), taken: taken)
            {
                span.start = range.lowerBound
                span.end = range.upperBound
                span.match = .normalized
                span.similarity = 1
            } else if !normalizedPattern.isEmpty {
                let (best, similarity) = fuzzy(normalizedPattern, in: folded, taken: taken)
                span.similarity = (similarity * 10_000).rounded() / 10_000
                if let best, similarity >= fuzzyThreshold {
                    span.start = best.lowerBound
                    span.end = best.upperBound
                    span.match = .fuzzy
                }
            }
            if let start = span.start, let end = span.end { taken.append(start..<end) }
            result.append(span)
        }
        return result
    }

    /// Every start of `pattern` in `text`, as ranges.
    func occurrences(of pattern: [Unicode.Scalar], in text: [Unicode.Scalar]) -> [Range<Int>] {
        guard !pattern.isEmpty, pattern.count <= text.count else { return [] }
        var found: [Range<Int>] = []
        for start in 0...(text.count - pattern.count) where text[start] == pattern[0] {
            var offset = 1
            while offset < pattern.count, text[start + offset] == pattern[offset] { offset += 1 }
            if offset == pattern.count { found.append(start..<(start + pattern.count)) }
        }
        return found
    }

    /// The binding rule: free of overlap, else not an identical range, else the first.
    func choose(_ candidates: [Range<Int>], taken: [Range<Int>]) -> Range<Int>? {
        candidates.first { candidate in !taken.contains { $0.overlaps(candidate) } }
            ?? candidates.first { candidate in !taken.contains(candidate) }
            ?? candidates.first
    }

    /// Semi-global edit distance: the quote must be used whole, the window may start and end anywhere.
    /// Returns the chosen window in original offsets and its similarity (the best seen, even if low).
    private func fuzzy(_ pattern: [Unicode.Scalar], in text: Normalized, taken: [Range<Int>])
        -> (Range<Int>?, Double)
    {
        let m = pattern.count
        let n = text.scalars.count
        guard n > 0, m * n <= fuzzyCellLimit else { return (nil, 0) }
        // Row i holds, for each text end j, the distance of pattern[0..<i] to the best window ending
        // at j, and that window's start.
        var distance = [Int](repeating: 0, count: n + 1)
        var start = Array(0...n)
        var nextDistance = distance
        var nextStart = start
        for i in 1...m {
            nextDistance[0] = i
            nextStart[0] = 0
            for j in 1...n {
                let substitute = distance[j - 1] + (pattern[i - 1] == text.scalars[j - 1] ? 0 : 1)
                let skipQuote = distance[j] + 1
                let skipText = nextDistance[j - 1] + 1
                if substitute <= skipQuote && substitute <= skipText {
                    nextDistance[j] = substitute
                    nextStart[j] = start[j - 1]
                } else if skipQuote <= skipText {
                    nextDistance[j] = skipQuote
                    nextStart[j] = start[j]
                } else {
                    nextDistance[j] = skipText
                    nextStart[j] = nextStart[j - 1]
                }
            }
            swap(&distance, &nextDistance)
            swap(&start, &nextStart)
        }
        var windows: [(range: Range<Int>, similarity: Double)] = []
        for end in 1...n where start[end] < end {
            let window = start[end]..<end
            let similarity = 1 - Double(distance[end]) / Double(max(m, window.count))
            windows.append((window, similarity))
        }
        // Ties: the window whose length is closest to the quote's (so "in May" beats "in Ma" for
        // "in Mai"), then the earliest.
        windows.sort { lhs, rhs in
            if lhs.similarity != rhs.similarity { return lhs.similarity > rhs.similarity }
            let (left, right) = (abs(lhs.range.count - m), abs(rhs.range.count - m))
            return left != right ? left < right : lhs.range.lowerBound < rhs.range.lowerBound
        }
        guard let bestSimilarity = windows.first?.similarity else { return (nil, 0) }
        let good = windows.filter { $0.similarity >= fuzzyThreshold }
        let ranges = good.compactMap { text.originalRange(trimming: $0.range) }
        guard let chosen = choose(ranges, taken: taken) else { return (nil, bestSimilarity) }
        let similarity = good[ranges.firstIndex(of: chosen) ?? 0].similarity
        return (chosen, similarity)
    }
}

/// A normalized copy of some scalars with, for each normalized scalar, the original index it came from.
struct Normalized {
    var scalars: [Unicode.Scalar] = []
    var origin: [Int] = []

    init(_ original: [Unicode.Scalar]) {
        var lastWasSpace = false
        for (index, scalar) in original.enumerated() {
            if scalar.properties.isWhitespace {
                if !lastWasSpace {
                    scalars.append(" ")
                    origin.append(index)
                }
                lastWasSpace = true
                continue
            }
            lastWasSpace = false
            for folded in Self.fold(scalar) {
                scalars.append(folded)
                origin.append(index)
            }
        }
    }

    var isEmpty: Bool { scalars.isEmpty }

    /// Without leading and trailing spaces (used for quotes; origin is irrelevant there).
    func trimmed() -> [Unicode.Scalar] {
        var slice = scalars[...]
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return Array(slice)
    }

    /// Maps a normalized range back to the original scalars it covers.
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        origin[range.lowerBound]..<(origin[range.upperBound - 1] + 1)
    }

    /// Like `originalRange`, after dropping spaces at either end of the window; nil if nothing is left.
    func originalRange(trimming range: Range<Int>) -> Range<Int>? {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, scalars[lower] == " " { lower += 1 }
        while upper > lower, scalars[upper - 1] == " " { upper -= 1 }
        return lower < upper ? originalRange(lower..<upper) : nil
    }

    private static func fold(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        switch scalar {
        case "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}", "\u{2032}", "`": return ["'"]
        case "\u{201C}", "\u{201D}", "\u{201E}", "\u{201F}", "\u{2033}", "\u{00AB}", "\u{00BB}": return ["\""]
        case "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2212}": return ["-"]
        case "\u{2026}": return [".", ".", "."]
        default:
            let lower = scalar.properties.lowercaseMapping.unicodeScalars
            return lower.isEmpty ? [scalar] : Array(lower)
        }
    }
}
