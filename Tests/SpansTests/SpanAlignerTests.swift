@testable import Spans
import Testing


@Suite("Span alignment")
struct SpanAlignerTests {
    let labels = [SpanLabel(name: "good_spans", score: 1), SpanLabel(name: "poor_spans", score: -1)]

    func align(_ quotes: [(String, String)], in response: String, threshold: Double = 0.8) -> [AlignedSpan] {
        SpanAligner(fuzzyThreshold: threshold)
            .align(quotes.map { QuotedSpan(label: $0.0, text: $0.1) }, labels: labels, in: response)
    }

    /// Extracts what the offsets point at, counting Unicode scalars as the record does.
    func slice(_ response: String, _ span: AlignedSpan) -> String? {
        guard let start = span.start, let end = span.end else { return nil }
        let scalars = Array(response.unicodeScalars)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<end])
        return String(view)
    }

    @Test func exactMatchUsesScalarOffsetsAfterEmojiAndAccents() {
        let response = "\u{1F431} Caf\u{E9} owner says: the cat moved to Berlin."
        let spans = align([("good_spans", "the cat moved")], in: response)
        #expect(spans[0].match == .exact)
        #expect(spans[0].similarity == 1)
        #expect(spans[0].score == 1)
        // The cat emoji and the precomposed é are one scalar each: the prefix is 19 scalars
        // (though 23 UTF-8 bytes and 20 UTF-16 units).
        #expect(spans[0].start == 19)
        #expect(spans[0].end == 32)
        #expect(slice(response, spans[0]) == "the cat moved")
    }

    @Test func normalizedMatchFoldsCaseQuotesAndWhitespaceAndMapsBack() {
        let response = "He said  \u{201C}Don\u{2019}t\n  go\u{201D} and LEFT."
        let spans = align([("poor_spans", "\"don't go\" and left")], in: response)
        #expect(spans[0].match == .normalized)
        #expect(spans[0].score == -1)
        #expect(slice(response, spans[0]) == "\u{201C}Don\u{2019}t\n  go\u{201D} and LEFT")
    }

    @Test func fuzzyMatchFindsAParaphraseWithTypos() {
        let response = "The summary says the cat moved to Berlin in May, which is wrong."
        let spans = align([("poor_spans", "the cat moved to Berlinn in Mai")], in: response)
        #expect(spans[0].match == .fuzzy)
        #expect(spans[0].similarity >= 0.8 && spans[0].similarity < 1)
        #expect(slice(response, spans[0]) == "the cat moved to Berlin in May")
    }

    @Test func quoteBelowThresholdIsUnmatchedWithNullOffsets() {
        let response = "The summary says the cat moved to Berlin in May."
        let spans = align([("good_spans", "a dog flew to Paris in June")], in: response)
        #expect(spans[0].match == .unmatched)
        #expect(spans[0].start == nil && spans[0].end == nil)
        #expect(spans[0].similarity < 0.8)
    }

    @Test func thresholdDecidesBetweenFuzzyAndUnmatched() {
        let response = "the quick brown fox jumps"
        let loose = align([("good_spans", "the quack brawn fix")], in: response, threshold: 0.7)
        let strict = align([("good_spans", "the quack brawn fix")], in: response, threshold: 0.95)
        #expect(loose[0].match == .fuzzy)
        #expect(strict[0].match == .unmatched)
        #expect(strict[0].similarity == loose[0].similarity)
    }

    @Test func repeatedPhraseBindsToOccurrencesNotAlreadyTaken() {
        let response = "very good. Then very good again. And very good."
        let spans = align(
            [("good_spans", "very good"), ("good_spans", "very good"), ("poor_spans", "very good")], in: response)
        #expect(spans.map(\.start) == [0, 16, 37])
        #expect(spans.allSatisfy { $0.match == .exact })
    }

    @Test func repeatedNormalizedAndFuzzyQuotesAlsoTakeFreeOccurrences() {
        let response = "Big Dog ran. big  dog ran."
        let normalized = align([("good_spans", "big dog"), ("poor_spans", "BIG DOG")], in: response)
        #expect(normalized.map(\.start) == [0, 13])
        #expect(normalized.map(\.match) == [.normalized, .normalized])
        let fuzzy = align([("good_spans", "big dogs ran"), ("poor_spans", "big dogs ran")], in: response)
        #expect(fuzzy.map(\.match) == [.fuzzy, .fuzzy])
        #expect(fuzzy[0].start != fuzzy[1].start)
    }

    @Test func overlappingQuoteFallsBackToTheOnlyOccurrence() {
        let response = "the cat sat on the mat"
        let spans = align([("good_spans", "the cat"), ("poor_spans", "cat sat")], in: response)
        #expect(spans[0].start == 0 && spans[0].end == 7)
        #expect(spans[1].start == 4 && spans[1].end == 11)
        #expect(spans[1].match == .exact)
    }

    @Test func quoteLongerThanResponseAndEmptyResponseDoNotCrash() {
        #expect(align([("good_spans", "a much longer quote than the text")], in: "short").first?.match == .unmatched)
        #expect(align([("good_spans", "anything")], in: "").first?.match == .unmatched)
    }

    @Test func unknownLabelGetsScoreZero() {
        let spans = SpanAligner().align([QuotedSpan(label: "other", text: "a")], labels: labels, in: "a b")
        #expect(spans[0].score == 0)
    }
}
