import Foundation
import JSON
import Spans

/// The dense reward-model target: every word of the response (a maximal run of non-white-space scalars), in order,
/// each written after a tag, under one key: `{"labelled_words":["=Oscar,","=a","+50-year-old",…]}`. A label scoring
/// above 0 is tagged `+`, one below `-`, anything else `=`. It holds what the spans hold (a word takes the lowest
/// score of the spans it touches, as a token does in `spanTokenScores`); only the format differs.
public enum DenseLabels {
    /// The answer's one key.
    public static let key = "labelled_words"
    /// The tag of a word in no span (or in a span scoring 0).
    public static let neutralTag: Unicode.Scalar = "="

    /// The labels that have a tag of their own: the first scoring above 0 (`+`) and the first below (`-`).
    public static func tagging(_ labels: [SpanLabel]) -> [(tag: Unicode.Scalar, label: SpanLabel)] {
        var tagged: [(tag: Unicode.Scalar, label: SpanLabel)] = []
        if let good = labels.first(where: { $0.score > 0 }) { tagged.append(("+", good)) }
        if let poor = labels.first(where: { $0.score < 0 }) { tagged.append(("-", poor)) }
        return tagged
    }

    /// The words of `text` as ranges of its Unicode scalars.
    public static func words(_ text: String) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start: Int?
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if scalar.properties.isWhitespace {
                if let begun = start { ranges.append(begun..<index) }
                start = nil
            } else if start == nil {
                start = index
            }
        }
        if let begun = start { ranges.append(begun..<text.unicodeScalars.count) }
        return ranges
    }

    /// The answer for `response` whose spans (scalar ranges with their scores) are `spans`.
    static func answer(response: String, spans: [(range: Range<Int>, score: Double)]) -> String {
        let scalars = Array(response.unicodeScalars)
        let items = words(response).map { word -> String in
            let score = spans.filter { $0.range.overlaps(word) }.map(\.score).min() ?? 0
            let tag: Unicode.Scalar = score > 0 ? "+" : score < 0 ? "-" : neutralTag
            return RewardModelFormat.jsonString(String(String.UnicodeScalarView([tag] + scalars[word])))
        }
        return "{\"\(key)\":[" + items.joined(separator: ",") + "]}"
    }

    /// The spans a dense answer gives `response`: each run of consecutive words with the same label's tag becomes
    /// one exact span from the first word's start to the last word's end. The answer must tag as many words as
    /// the response has (a word copied wrongly keeps its position's label).
    public static func parse(_ raw: String, response: String, labels: [SpanLabel])
        -> Result<[AlignedSpan], AnswerProblem>
    {
        let byTag = Dictionary(uniqueKeysWithValues: tagging(labels).map { ($0.tag, $0.label) })
        let ranges = words(response)
        let tagged = AnswerParser.parseObject(raw) { object -> Result<[SpanLabel?], AnswerProblem> in
            guard let value = object.first(where: { AnswerParser.normalizedKey($0.key) == key })?.value else {
                return .failure(.missingKey(key))
            }
            let expected = "a list of \(ranges.count) tagged words (one per word of the response)"
            guard let items = value.arrayValue, items.count == ranges.count else {
                return .failure(.wrongType(key: key, expected: expected))
            }
            var labelsOfWords: [SpanLabel?] = []
            for item in items {
                guard let text = item.stringValue, let tag = text.unicodeScalars.first,
                      tag == neutralTag || byTag[tag] != nil
                else { return .failure(.wrongType(key: key, expected: expected)) }
                labelsOfWords.append(byTag[tag])
            }
            return .success(labelsOfWords)
        }
        let scalars = Array(response.unicodeScalars)
        return tagged.map { labelsOfWords in
            var spans: [AlignedSpan] = []
            var index = 0
            while index < ranges.count {
                guard let label = labelsOfWords[index] else { index += 1; continue }
                var last = index
                while last + 1 < ranges.count && labelsOfWords[last + 1]?.name == label.name { last += 1 }
                let start = ranges[index].lowerBound, end = ranges[last].upperBound
                let text = String(String.UnicodeScalarView(scalars[start..<end]))
                spans.append(AlignedSpan(text: text, label: label.name, score: label.score, start: start, end: end,
                                         match: .exact, similarity: 1))
                index = last + 1
            }
            return spans
        }
    }
}
