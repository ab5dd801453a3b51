import Foundation
import JSON
@testable import Spans
import Testing
import Tokenizers
@testable import RewardModel

/// Reward-model data from annotation records, the held-out split, and the evaluation's counting rules.
@Suite struct RewardModelDataTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func record(id: String, response: String, spans: [AlignedSpan], critique: String = "Fine.") -> AnnotationRecord {
        AnnotationRecord(id: id, task: "summarization", prompt: "Summarise: Mia moved to Lisbon in March.",
                         response: response, critique: critique, spans: spans,
                         teacher: TeacherInfo(model: "t", baseURL: "", temperature: 0, usage: TokenUsage(),
                                              latencyMilliseconds: 0, attempts: 1), raw: "{}")
    }

    static func span(_ text: String, _ label: String, _ start: Int?, _ end: Int?, _ match: MatchKind) -> AlignedSpan {
        AlignedSpan(text: text, label: label, score: label == "good_spans" ? 1 : -1, start: start, end: end, match: match,
                    similarity: match == .unmatched ? 0.3 : 1)
    }

    @Test func targetIsCritiqueFirstAndQuotesTheResponseItself() throws {
        let format = try RewardModelFormat.builtin("summarization")
        // "Mia moved to Lisbon in May." — a fuzzy quote ("in may") is replaced by the response's own text, an
        // unmatched one is dropped and counted.
        let record = Self.record(id: "a", response: "Mia moved to Lisbon in May.", spans: [
            Self.span("Mia moved", "good_spans", 0, 9, .exact), Self.span("in may", "poor_spans", 20, 26, .fuzzy),
            Self.span("the cat", "poor_spans", nil, nil, .unmatched),
        ], critique: "Says \"May\"; the post says March.")
        let example = RewardModelExample(record: record, format: format)
        #expect(example.droppedSpans == 1)
        #expect(example.messages.map(\.role) == ["system", "user", "assistant"])
        #expect(example.messages[1].content.contains("## Response\nMia moved to Lisbon in May."))
        #expect(example.messages[2].content
            == #"{"textual_feedback":"Says \"May\"; the post says March.","good_spans":["Mia moved"],"poor_spans":["in May"]}"#)
        // The target parses back with the annotator's parser.
        let parsed = try AnswerParser.parse(example.messages[2].content, labels: format.labels).get()
        #expect(parsed.critique == "Says \"May\"; the post says March." && parsed.spans.map(\.text) == ["Mia moved", "in May"])
    }

    @Test func heldOutSplitDependsOnTheIdOnly() {
        let ids = (0..<2000).map { "item-\($0)" }
        let held = ids.filter { RewardModelData.isHeldOut($0, fraction: 0.1) }
        #expect((150...250).contains(held.count), "\(held.count) of 2000 held out at 10%")
        #expect(held == ids.reversed().filter { RewardModelData.isHeldOut($0, fraction: 0.1) }.reversed())
        #expect(!ids.contains { RewardModelData.isHeldOut($0, fraction: 0) })
    }

    @Test func badAnnotationLinesNameTheirLine() throws {
        let path = NSTemporaryDirectory() + "rm-bad-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let good = String(decoding: try JSONEncoder().encode(Self.record(id: "a", response: "x", spans: [])), as: UTF8.self)
        try [good, "", "{\"id\": \"b\", \"task\": \"summarization\"}"].joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RewardModelError.badRecord(path: path, line: 3, detail: "no 'prompt'")) {
            try RewardModelData.records(path: path)
        }
        try [good, "not json"].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try RewardModelData.records(path: path)
            Issue.record("a line of prose was accepted")
        } catch let RewardModelError.badRecord(_, line, _) {
            #expect(line == 2)
        }
    }

    @Test func evaluationCountsParseFailuresAsMissesNeverAsPerfect() throws {
        let tokenizer = try Tokenizer.load(directory: Self.root.appendingPathComponent("tokenizers/qwen2"))
        let format = try RewardModelFormat.builtin("summarization")
        let response = "Mia moved to Lisbon in May."
        let gold = Self.record(id: "a", response: response, spans: [
            Self.span("Mia moved", "good_spans", 0, 9, .exact), Self.span("in May", "poor_spans", 20, 26, .exact)])
        var evaluation = RewardModelEvaluation(format: format)
        // A perfect prediction, then a parse failure of the same item.
        evaluation.add(gold: gold, predicted: .record(gold), tokenizer: tokenizer)
        evaluation.add(gold: gold, predicted: .failure(id: "a", raw: "{oops", problem: "invalid"), tokenizer: tokenizer)
        let good = evaluation.labels["good_spans"]!
        #expect(good.exactSpans.precision == 1 && good.exactSpans.recall == 0.5)
        #expect(good.tokens.precision == 1 && good.tokens.recall == 0.5)
        #expect(evaluation.parseFailures == 1)
        // A prediction with a shifted poor span: overlap counts it, exact does not; an unmatched quote counts
        // against precision and in the unmatched rate.
        var shifted = RewardModelEvaluation(format: format)
        let predicted = Self.record(id: "a", response: response, spans: [
            Self.span("Lisbon in May", "poor_spans", 13, 26, .exact), Self.span("Pico", "good_spans", nil, nil, .unmatched)])
        shifted.add(gold: gold, predicted: .record(predicted), tokenizer: tokenizer)
        let poor = shifted.labels["poor_spans"]!
        #expect(poor.exactSpans.truePositives == 0 && poor.overlapSpans.precision == 1 && poor.overlapSpans.recall == 1)
        #expect(poor.tokens.recall == 1 && poor.tokens.precision < 1)
        #expect(shifted.labels["good_spans"]!.exactSpans.precision == 0)
        #expect(shifted.summary["unmatched_span_rate"]?.numberValue == 0.5)
    }
}
