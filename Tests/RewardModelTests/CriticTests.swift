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

    /// The tiny chat fixture, whose weights are random: left free it writes any text, but under the quote rule
    /// every quote it writes is a verbatim substring of the response, at most `maxQuotesPerLabel` per label.
    @Test func localQuotesAreSubstringsOfTheResponse() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/chat-smollm")
        let model = try LlamaModel(directory: directory.path)
        let tokenizer = try Tokenizer.load(directory: directory)
        let critic = Critic(backend: .local(Generator(model: model, tokenizer: tokenizer), name: "tiny"),
                            format: try RewardModelFormat.builtin("summarization"))
        critic.maxNewTokens = 96
        critic.maxQuotesPerLabel = 1
        let pairs = [Self.pair, CritiquePair(id: "p2", prompt: "Summarise: Ana went home.", response: "Ana went home.")]
        let outcomes = try critic.critique(pairs)
        #expect(outcomes.count == 2)
        for (pair, outcome) in zip(pairs, outcomes) {
            guard let record = outcome.record else { continue }
            #expect(record.teacher.model == "tiny")
            for span in record.spans {
                #expect(!span.text.isEmpty && pair.response.contains(span.text), "quoted \(span.text)")
                #expect(span.match == .exact)
            }
            for label in ["good_spans", "poor_spans"] {
                #expect(record.spans.filter { $0.label == label }.count <= 1)
            }
        }
        #expect(outcomes.contains { $0.record != nil }, "\(outcomes)")
    }
}
