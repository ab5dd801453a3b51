import Common
import Foundation
import Generation
import Spans
import Testing
@testable import RewardModel

/// The three reward-model target formats: what each teaches from the same record, that each answer reads back to
/// the same spans, that local decoding's rule admits exactly the dense answer, and where the format is saved.
@Suite struct RewardTargetTests {
    static let response = "Mia, a nurse, moved to Porto in May."
    /// "Mia" good, "moved to Porto" poor (the post says Lisbon), "in May" good, an unmatched quote.
    static let record = RewardModelDataTests.record(id: "a", response: response, spans: [
        RewardModelDataTests.span("Mia", "good_spans", 0, 3, .exact),
        RewardModelDataTests.span("moved to Porto", "poor_spans", 14, 28, .exact),
        RewardModelDataTests.span("in May", "good_spans", 29, 35, .exact),
        RewardModelDataTests.span("a cat", "good_spans", nil, nil, .unmatched),
    ], critique: "Right name and month; the city is wrong.")

    static func format(_ target: RewardTarget) throws -> RewardModelFormat {
        try RewardModelFormat.builtin("summarization", target: target)
    }

    @Test("critique+spans and spans teach the same quotes; spans has no critique key, and its prompt asks for none")
    func spansDropsOnlyTheCritique() throws {
        let full = try Self.format(.critiqueSpans).answer(for: Self.record)
        let spans = try Self.format(.spans).answer(for: Self.record)
        #expect(full.text == #"{"textual_feedback":"Right name and month; the city is wrong.","#
            + #""good_spans":["Mia","in May"],"poor_spans":["moved to Porto"]}"#)
        #expect(spans.text == #"{"good_spans":["Mia","in May"],"poor_spans":["moved to Porto"]}"#)
        #expect(full.droppedSpans == 1 && spans.droppedSpans == 1)
        let system = try Self.format(.spans).messages(prompt: "p", response: "r")[0].content
        #expect(!system.contains("textual_feedback") && system.contains(#""good_spans", "poor_spans""#))
        // Each reads back to the same aligned spans; a spans answer needs no critique, a critique+spans one does.
        let aligner = SpanAligner()
        let a = try Self.format(.critiqueSpans).parse(full.text, response: Self.response, aligner: aligner).get()
        let b = try Self.format(.spans).parse(spans.text, response: Self.response, aligner: aligner).get()
        #expect(a.spans == b.spans && a.critique == "Right name and month; the city is wrong." && b.critique.isEmpty)
        #expect(a.spans.map { [$0.start!, $0.end!] } == [[0, 3], [29, 35], [14, 28]])
        let missing = try Self.format(.critiqueSpans).parse(spans.text, response: Self.response, aligner: aligner)
        guard case .failure(.missingKey("textual_feedback")) = missing else {
            Issue.record("a critique+spans answer without its critique must fail, got \(missing)")
            return
        }
    }

    @Test("dense tags every word with its lowest span score and reads back to the same spans, runs merged")
    func denseRoundTrip() throws {
        let format = try Self.format(.dense)
        let answer = format.answer(for: Self.record)
        #expect(answer.text
            == #"{"labelled_words":["+Mia,","=a","=nurse,","-moved","-to","-Porto","+in","+May."]}"#)
        #expect(answer.droppedSpans == 1)
        let spans = try format.parse(answer.text, response: Self.response, aligner: SpanAligner()).get().spans
        #expect(spans.map(\.text) == ["Mia,", "moved to Porto", "in May."])
        #expect(spans.map(\.label) == ["good_spans", "poor_spans", "good_spans"])
        #expect(spans.map { [$0.start!, $0.end!] } == [[0, 4], [14, 28], [29, 36]])
        #expect(spans.allSatisfy { $0.match == .exact })
        // A word touching a good and a poor span takes the poor one, as a token does in the reward rule.
        let overlap = RewardModelDataTests.record(id: "b", response: "Porto now", spans: [
            RewardModelDataTests.span("Porto now", "good_spans", 0, 9, .exact),
            RewardModelDataTests.span("Port", "poor_spans", 0, 4, .exact),
        ])
        #expect(format.answer(for: overlap).text == #"{"labelled_words":["-Porto","+now"]}"#)
    }

    @Test("a dense answer with too few or too many words, or an unknown tag, is a parse failure naming the count")
    func denseMismatchesFail() throws {
        let format = try Self.format(.dense)
        for raw in [#"{"labelled_words":["+Mia,","=a"]}"#,
                    #"{"labelled_words":["+Mia,","=a","=nurse,","-moved","-to","-Porto","+in","+May.","=x"]}"#,
                    #"{"labelled_words":["+Mia,","=a","=nurse,","-moved","-to","-Porto","+in","*May."]}"#] {
            let result = format.parse(raw, response: Self.response, aligner: SpanAligner())
            guard case .failure(.wrongType(key: "labelled_words", let expected)) = result else {
                Issue.record("\(raw): expected a wrong-type failure, got \(result)")
                continue
            }
            #expect(expected.contains("8 tagged words"))
        }
        let missing = format.parse(#"{"good_spans":["Mia"]}"#, response: Self.response, aligner: SpanAligner())
        guard case .failure(.missingKey("labelled_words")) = missing else {
            Issue.record("expected the key to be missing, got \(missing)")
            return
        }
    }

    @Test("local decoding's dense rule admits the answer itself and refuses a wrong word, tag or count")
    func denseDecodingRule() throws {
        let format = try Self.format(.dense)
        let rule = format.quoteRule(response: Self.response, maxQuotes: 2)
        func accepts(_ text: String) -> (fed: Bool, complete: Bool) {
            var prefix = JSONPrefix(quotes: rule)
            let fed = prefix.feed(text)
            return (fed, prefix.isComplete)
        }
        let answer = format.answer(for: Self.record).text
        #expect(accepts(answer) == (true, true), "the taught answer; maxQuotes does not cap the words")
        #expect(accepts(#"{"labelled_words":["=Mia,","-a","+nur"#).fed, "any tag, then the word's prefix")
        #expect(!accepts(#"{"labelled_words":["+Mia"]"#).fed, "a word cut short")
        #expect(!accepts(#"{"labelled_words":["+Mia,","=nurse"#).fed, "a word skipped")
        #expect(!accepts(#"{"labelled_words":["*Mia"#).fed, "an unknown tag")
        #expect(!accepts(#"{"labelled_words":["+Mia,"]"#).fed, "closing before every word")
        #expect(!accepts(#"{"labelled_words":[1"#).fed, "a number in the word list")
        #expect(!accepts(String(answer.dropLast(2)) + #","=x"]}"#).fed, "a word past the last")
        #expect(!accepts(#"{"labelled_words":[],"x":1}"#).fed, "an empty list of a non-empty response")
        var empty = JSONPrefix(quotes: format.quoteRule(response: "  ", maxQuotes: nil))
        let emptyFed = empty.feed(#"{"labelled_words":[]}"#)
        #expect(emptyFed && empty.isComplete, "a response without words has an empty list")
    }

    @Test("dense needs at most one label scoring above 0 and one below")
    func denseLabelsAreSigned() throws {
        let labels = [SpanLabel(name: "a", score: 1), SpanLabel(name: "b", score: 0.5)]
        let two = RewardModelFormat(task: "custom", labels: labels, target: .dense)
        #expect(throws: RewardModelError.self) { try two.validate() }
        #expect(throws: Never.self) { try Self.format(.dense).validate() }
        #expect(throws: Never.self) { try RewardModelFormat.builtin("code", target: .dense) }
    }

    @Test("the saved format wins; a request or task against it fails naming the file; unsaved: the request")
    func savedFormat() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rm-info-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try Self.format(.critiqueSpans)
        #expect(try RewardModelInfo.format(base, directories: [dir], requested: nil).target == .critiqueSpans)
        #expect(try RewardModelInfo.format(base, directories: [dir], requested: .spans).target == .spans)
        try RewardModelInfo(task: "summarization", target: .dense).json()
            .write(toFile: dir + "/" + RewardModelInfo.fileName, atomically: true, encoding: .utf8)
        #expect(try RewardModelInfo.format(base, directories: ["/nonexistent", dir], requested: nil).target == .dense)
        #expect(try RewardModelInfo.format(base, directories: [dir], requested: .dense).target == .dense)
        #expect { try RewardModelInfo.format(base, directories: [dir], requested: .spans) } throws: { error in
            "\(error)".contains(RewardModelInfo.fileName) && "\(error)".contains("'dense'")
        }
        #expect { try RewardModelInfo.format(try RewardModelFormat.builtin("qa"), directories: [dir], requested: nil) }
            throws: { error in "\(error)".contains("'summarization'") }
        try "{\"task\": 3}".write(toFile: dir + "/" + RewardModelInfo.fileName, atomically: true, encoding: .utf8)
        #expect { try RewardModelInfo.load(directory: dir) } throws: { "\($0)".contains(RewardModelInfo.fileName) }
    }
}
