import Foundation
import Testing

@testable import Evaluation

@Suite("Win rates, presentation orders and verdict parsing")
struct WinRateTests {
    @Test("ties count half; the standard error is the items' sample deviation over √n")
    func winRate() {
        let rate = WinRate(perItem: [[.model], [.baseline], [.tie], [.model]])
        #expect(rate.items == 4 && rate.wins == 2 && rate.losses == 1 && rate.ties == 1)
        #expect(rate.winRate == 0.625)
        // scores 1, 0, .5, 1: mean .625, sample variance (.140625+.390625+.015625+.140625)/3
        #expect(abs(rate.standardError - (0.6875 / 3 / 4).squareRoot()) < 1e-15)
        let both = WinRate(perItem: [[.model, .baseline], [.model, .model]])
        #expect(both.items == 2 && both.verdicts == 4 && both.winRate == 0.75)
        #expect(WinRate(perItem: []).winRate == 0 && WinRate(perItem: [[.model]]).standardError == 0)
    }

    @Test("balanced orders: half each way, shuffled by the seed, the same for the same seed")
    func balancedOrders() {
        for count in [0, 1, 2, 7, 100] {
            let orders = PresentationOrder.balanced(count: count, seed: 42)
            let first = orders.filter { $0 == .modelFirst }.count
            #expect(orders.count == count && abs(2 * first - count) <= 1)
        }
        #expect(PresentationOrder.balanced(count: 50, seed: 1) == PresentationOrder.balanced(count: 50, seed: 1))
        #expect(PresentationOrder.balanced(count: 50, seed: 1) != PresentationOrder.balanced(count: 50, seed: 2))
    }

    @Test("preference verdicts: JSON inside prose, bare letters, ties, and answers that say nothing")
    func preferenceParsing() {
        #expect(JudgePrompts.parse(.preference, answer: "Sure.\n{\"reason\": \"x\", \"winner\": \"B\"}")?.winner == .b)
        #expect(JudgePrompts.parse(.preference, answer: " A ")?.winner == .a)
        #expect(JudgePrompts.parse(.preference, answer: "{\"winner\": \"tie\"}").map { $0.winner == nil } == true)
        #expect(JudgePrompts.parse(.preference, answer: "{\"winner\": \"C\"}") == nil)
        #expect(JudgePrompts.parse(.preference, answer: "I cannot decide.") == nil)
    }

    @Test("SLF5K verdicts: the higher overall score wins, scores as numbers or strings")
    func summaryParsing() throws {
        let answer = """
            ```json
            {"A": {"strengths": ["short"], "weaknesses": [], "accuracy": 8, "completeness": "7", "conciseness": 9,
                   "coherence": 8, "score": "7/10"},
             "B": {"strengths": [], "weaknesses": ["wrong month"], "accuracy": 4, "completeness": 6,
                   "conciseness": 7, "coherence": 7, "score": 5}}
            ```
            """
        let verdict = try #require(JudgePrompts.parse(.slf5k, answer: answer))
        #expect(verdict.winner == .a)
        #expect(verdict.scores?.a.overall == 7 && verdict.scores?.a.criteria["completeness"] == 7)
        #expect(verdict.scores?.b.criteria["accuracy"] == 4)
        let even = "{\"A\": {\"score\": 6}, \"B\": {\"score\": 6}}"
        #expect(JudgePrompts.parse(.slf5k, answer: even).map { $0.winner == nil } == true)
        #expect(JudgePrompts.parse(.slf5k, answer: "{\"A\": {\"score\": 6}}") == nil)
    }
}
