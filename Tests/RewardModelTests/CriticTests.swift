import Foundation
import Generation
import Models
import Spans
import Testing
import Tokenizers
@testable import RewardModel

/// The critic: answers parsed and aligned into records, unparsable answers kept as failures with their text, and
/// local decoding that can quote only the response.
@Suite struct CriticTests {
    static let response = "Mia moved to Lisbon in May."
    static let pair = CritiquePair(id: "p1", prompt: "Summarise: Mia moved to Lisbon in March.", response: response)

    static func functionCritic(_ answer: @escaping @Sendable (CritiquePair) -> String) throws -> Critic {
        Critic(backend: .function(answer, name: "rule"), format: try RewardModelFormat.builtin("summarization"))
    }

    @Test func functionAnswersAreParsedAndAligned() throws {
        let format = try RewardModelFormat.builtin("summarization")
        let raw = format.answer(critique: "Right city, wrong month.",
                                quotes: ["good_spans": ["Lisbon"], "poor_spans": ["in may", "in June"]])
        let outcomes = try Self.functionCritic { _ in raw }.critique([Self.pair])
        let record = try #require(outcomes.first?.record)
        #expect(record.id == "p1" && record.task == "summarization")
        #expect(record.prompt == Self.pair.prompt && record.response == Self.response)
        #expect(record.critique == "Right city, wrong month.")
        #expect(record.raw == raw && record.teacher.model == "rule")
        // "Lisbon" is scalars 13..<19, verbatim; "in may" is 20..<26 once case is folded; "in June" is nowhere.
        #expect(record.spans.map(\.label) == ["good_spans", "poor_spans", "poor_spans"])
        #expect(record.spans.map(\.score) == [1, -1, -1])
        #expect(record.spans[0].start == 13 && record.spans[0].end == 19 && record.spans[0].match == .exact)
        #expect(record.spans[1].start == 20 && record.spans[1].end == 26 && record.spans[1].match == .normalized)
        #expect(record.spans[2].start == nil && record.spans[2].match == .unmatched)
    }

    @Test func unparsableAnswersBecomeFailuresWithTheirText() throws {
        // Prose, and a JSON array where an object belongs.
        let critic = try Self.functionCritic { pair in pair.id == "prose" ? "Looks fine to me." : #"["Lisbon"]"# }
        let pairs = [CritiquePair(id: "prose", prompt: "p", response: "r"),
                     CritiquePair(id: "array", prompt: "p", response: "r")]
        let outcomes = try critic.critique(pairs)
        #expect(outcomes.count == 2)
        for (outcome, expected) in zip(outcomes, [("prose", "Looks fine to me."), ("array", #"["Lisbon"]"#)]) {
            guard case let .failure(id, raw, problem) = outcome else {
                Issue.record("\(expected.0) parsed")
                continue
            }
            #expect(id == expected.0 && raw == expected.1 && !problem.isEmpty)
            #expect(outcome.record == nil)
        }
    }

    @Test func outcomesKeepThePairsOrder() throws {
        let format = try RewardModelFormat.builtin("summarization")
        let critic = try Self.functionCritic { pair in
            format.answer(critique: pair.id, quotes: ["good_spans": [String(pair.response.prefix(3))]])
        }
        let pairs = (0..<5).map { CritiquePair(id: "p\($0)", prompt: "p", response: "r\($0) response") }
        let outcomes = try critic.critique(pairs)
        #expect(outcomes.map { $0.record?.id } == pairs.map(\.id))
        #expect(outcomes.map { $0.record?.critique } == pairs.map(\.id))
    }

    /// The rule local decoding runs under (`quotesFromResponse`): each quote a verbatim substring of the response,
    /// at most `maxQuotesPerLabel` per label. The tiny chat fixture's weights are random, so it seldom gets as far
    /// as a quote: every answer it writes obeys the rule, and hand-written answers show what the rule refuses.
    @Test func localQuotesAreSubstringsOfTheResponse() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/chat-smollm")
        let model = try LlamaModel(directory: directory.path)
        let tokenizer = try Tokenizer.load(directory: directory)
        let critic = Critic(backend: .local(Generator(model: model, tokenizer: tokenizer), name: "tiny"),
                            format: try RewardModelFormat.builtin("summarization"))
        critic.maxNewTokens = 48
        critic.maxQuotesPerLabel = 1
        let pairs = [Self.pair, CritiquePair(id: "p2", prompt: "Summarise: Ana went home.", response: "Ana went home.")]
        let outcomes = try critic.critique(pairs)
        #expect(outcomes.count == 2)
        for (pair, outcome) in zip(pairs, outcomes) {
            var rule = JSONPrefix(quotes: critic.format.quoteRule(response: pair.response, maxQuotes: 1))
            switch outcome {
            case .record(let record):
                #expect(record.id == pair.id && record.teacher.model == "tiny")
                let obeyed = rule.feed(record.raw)
                #expect(obeyed, "the answer broke the rule: \(record.raw)")
                for span in record.spans {
                    #expect(!span.text.isEmpty && pair.response.contains(span.text), "quoted \(span.text)")
                    #expect(span.match == .exact)
                }
            case let .failure(id, raw, _):
                #expect(id == pair.id && !raw.isEmpty)
                let obeyed = rule.feed(raw)
                #expect(obeyed, "the answer broke the rule: \(raw)")
            }
        }
        // What the rule admits and refuses, for "Mia moved to Lisbon in May.".
        func admits(_ answer: String) -> Bool {
            var rule = JSONPrefix(quotes: critic.format.quoteRule(response: Self.response, maxQuotes: 1))
            return rule.feed(answer)
        }
        let head = #"{"textual_feedback":"Wrong month.","good_spans":["#
        #expect(admits(head + #""Lisbon"],"poor_spans":["in May"]}"#))
        #expect(!admits(head + #""Paris""#), "not in the response")
        #expect(!admits(head + #""lisbon""#), "not verbatim")
        #expect(!admits(head + #""Lisbon","Mia""#), "a second quote under one label")
        #expect(!admits(head + #""""#), "an empty quote")
    }
}
