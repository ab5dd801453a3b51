@testable import Spans
import Testing

@testable import Tasks

@Suite("Teacher answer parsing")
struct AnswerParserTests {
    let labels = SummarizationTask().labels
    let codeLabels = CodeTask().labels

    func parsed(_ raw: String) -> TeacherAnswer? {
        try? AnswerParser.parse(raw, labels: labels).get()
    }

    func problem(_ raw: String) -> AnswerProblem? {
        if case let .failure(problem) = AnswerParser.parse(raw, labels: labels) { return problem }
        return nil
    }

    @Test func plainJSON() {
        let answer = parsed(#"{"textual_feedback": "ok", "good_spans": ["a", "b"], "poor_spans": []}"#)
        #expect(answer?.critique == "ok")
        #expect(
            answer?.spans == [QuotedSpan(label: "good_spans", text: "a"), QuotedSpan(label: "good_spans", text: "b")])
    }

    @Test func fencedJSONSurroundedByProse() {
        let raw = """
            Let me think. The summary {mostly} works.
            ```json
            {"textual_feedback": "Good but wrong month.", "good_spans": ["Miso"], "poor_spans": ["in May"]}
            ```
            Hope this helps!
            """
        #expect(parsed(raw)?.spans.map(\.text) == ["Miso", "in May"])
    }

    @Test func bareObjectInsideProseWithoutFence() {
        let raw = "Here you go: {\"textual_feedback\": \"x\", \"good_spans\": [], \"poor_spans\": [\"y\"]} — done."
        #expect(parsed(raw)?.spans == [QuotedSpan(label: "poor_spans", text: "y")])
    }

    @Test func trailingCommasSmartQuotesAndRawNewlinesAreRepaired() {
        let raw =
            "{\u{201C}textual_feedback\u{201D}: \u{201C}line one\nline two\u{201D}, "
            + "\u{201C}good_spans\u{201D}: [\u{201C}cat\u{201D},], \"poor_spans\": [\"the \u{201C}tram\u{201D}\",],}"
        let answer = parsed(raw)
        #expect(answer?.critique == "line one\nline two")
        #expect(answer?.spans.map(\.text) == ["cat", "the \u{201C}tram\u{201D}"])
    }

    @Test func unescapedInnerQuotesAreRepaired() {
        let raw = #"{"textual_feedback": "It says "moved" twice", "good_spans": [], "poor_spans": ["moved"]}"#
        #expect(parsed(raw)?.critique == #"It says "moved" twice"#)
    }

    @Test func missingKeyIsReported() {
        #expect(problem(#"{"textual_feedback": "x", "good_spans": []}"#) == .missingKey("poor_spans"))
        #expect(problem(#"{"good_spans": [], "poor_spans": []}"#) == .missingKey("textual_feedback"))
    }

    @Test func wrongTypesAreReported() {
        #expect(
            problem(#"{"textual_feedback": "x", "good_spans": 3, "poor_spans": []}"#)
                == .wrongType(key: "good_spans", expected: "a list of strings"))
        #expect(
            problem(#"{"textual_feedback": ["x"], "good_spans": [], "poor_spans": []}"#)
                == .wrongType(key: "textual_feedback", expected: "a string"))
        #expect(
            problem(#"{"textual_feedback": "x", "good_spans": [1, 2], "poor_spans": []}"#)
                == .wrongType(key: "good_spans", expected: "a list of strings"))
    }

    @Test func garbledAnswersAreInvalidOrHaveNoJSON() {
        #expect(problem("I cannot help with that.") == .noJSON)
        if case .invalidJSON = problem(#"{"textual_feedback": "x", "good_spans": [unquoted words"#) {
        } else {
            Issue.record("a truncated object must be invalid JSON")
        }
    }

    @Test func tolerantFormsAliasesAndBlankQuotes() {
        let raw = #"{"Critique": "fine", "Good Spans": "one", "poor-spans": [{"text": "two"}, "  "]}"#
        let answer = parsed(raw)
        #expect(answer?.critique == "fine")
        #expect(answer?.spans.map(\.text) == ["one", "two"])
    }

    @Test func codeLabelsAndCodeFeedbackAlias() {
        let raw =
            "```json\n{\"code_feedback\": \"off by one\", \"wrong_code\": [\"range(n - 1)\"], "
            + "\"improvement_code\": []}\n```"
        let answer = try? AnswerParser.parse(raw, labels: codeLabels).get()
        #expect(answer?.critique == "off by one")
        #expect(answer?.spans == [QuotedSpan(label: "wrong_code", text: "range(n - 1)")])
    }

    @Test func lastValidFenceWinsOverAnEarlierExample() {
        let raw = """
            The format is ```{"textual_feedback": "...", "good_spans": [...]}```.
            ```json
            {"textual_feedback": "real", "good_spans": ["g"], "poor_spans": []}
            ```
            """
        #expect(parsed(raw)?.critique == "real")
    }
}
