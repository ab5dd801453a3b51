import Common
import Foundation
import LLMClient
import TestSupport
import Testing

@testable import Evaluation

/// A client for a scripted endpoint on 127.0.0.1, without retries (a failure must show at once).
func judgeClient(_ endpoint: ScriptedEndpoint) -> OpenAIClient {
    var settings = EndpointSettings(baseURL: endpoint.baseURL, model: "judge", apiKey: nil)
    settings.maxRetries = 0
    settings.jsonMode = false
    return OpenAIClient(settings: settings)
}

/// Items whose two answers are the same text: only the judge's position bias can separate them.
func identicalItems(_ count: Int) -> [JudgeItem] {
    (0..<count).map { JudgeItem(id: "item-\($0)", prompt: "Post \($0)", model: "Same \($0).", baseline: "Same \($0).") }
}

@Suite("The LLM judge against a scripted endpoint", .serialized)
struct JudgeTests {
    /// A judge that always prefers the answer shown first.
    static func firstAlwaysWins() async throws -> ScriptedEndpoint {
        try await ScriptedEndpoint.start { _ in .content("{\"reason\": \"A reads better.\", \"winner\": \"A\"}") }
    }

    @Test("position bias: randomised orders score identical outputs 50% within the standard error, fixed order 100%")
    func positionBias() async throws {
        let endpoint = try await Self.firstAlwaysWins()
        let client = judgeClient(endpoint)
        var config = JudgeConfig()
        config.seed = 7
        let items = identicalItems(40)
        let randomised = try await PairwiseJudge(client: client, config: config).run(items).report
        #expect(abs(randomised.winRate.winRate - 0.5) <= randomised.winRate.standardError)
        #expect(randomised.winRate.wins == 20 && randomised.winRate.losses == 20 && randomised.requests == 40)
        config.randomizeOrder = false
        let fixed = try await PairwiseJudge(client: client, config: config).run(items).report
        #expect(fixed.winRate.winRate == 1 && fixed.winRate.standardError == 0)
        config.randomizeOrder = true
        config.bothOrders = true
        let both = try await PairwiseJudge(client: client, config: config).run(items)
        #expect(both.report.winRate.winRate == 0.5 && both.report.winRate.standardError == 0)
        #expect(both.records.allSatisfy { $0.verdicts.count == 2 && $0.score == 0.5 })
        await client.shutdown()
        await endpoint.stop()
    }

    /// Identical items asked in both orders send the same prompt twice per item: each verdict is still
    /// asked once, one request in flight (where the second order used to find the first's answer) or eight.
    @Test("every answer is cached: a rerun sends no request and gives the same verdicts", arguments: [1, 8])
    func cache(concurrency: Int) async throws {
        let endpoint = try await Self.firstAlwaysWins()
        let client = judgeClient(endpoint)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-judge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var config = JudgeConfig()
        config.cachePath = directory.appendingPathComponent("cache.jsonl").path
        config.bothOrders = true
        config.concurrency = concurrency
        let items = identicalItems(6)
        let first = try await PairwiseJudge(client: client, config: config).run(items)
        #expect(first.report.requests == 12 && endpoint.requests.count == 12)
        let second = try await PairwiseJudge(client: client, config: config).run(items)
        #expect(second.report.requests == 0 && second.report.cached == 12 && endpoint.requests.count == 12)
        #expect(second.records.map(\.score) == first.records.map(\.score))
        await client.shutdown()
        await endpoint.stop()
    }

    @Test("SLF5K criteria: scores map back to the right side whichever order the judge saw")
    func summaryJudge() async throws {
        // The judge scores a summary 8 when it has the right month, 3 otherwise.
        let endpoint = try await ScriptedEndpoint.start { request in
            let text = request.userText
            let a = text.components(separatedBy: "[Summary A]").last!.components(separatedBy: "[Summary B]")[0]
            let aRight = a.contains("March")
            func side(_ right: Bool) -> String {
                let s = right ? 8 : 3
                return "{\"strengths\": [], \"weaknesses\": [], \"accuracy\": \(s), \"completeness\": \(s), "
                    + "\"conciseness\": 7, \"coherence\": 7, \"score\": \(s)}"
            }
            return .content("{\"A\": \(side(aRight)), \"B\": \(side(!aRight))}")
        }
        let client = judgeClient(endpoint)
        var config = JudgeConfig()
        config.criteria = .slf5k
        config.seed = 3
        let items = (0..<10).map {
            JudgeItem(
                id: "\($0)", prompt: "Mia moved in March.", model: "Mia moved in March.", baseline: "Mia moved in May.")
        }
        let (report, records) = try await PairwiseJudge(client: client, config: config).run(items)
        #expect(report.winRate.winRate == 1)
        #expect(Set(records.map { $0.verdicts[0].order }).count == 2)
        #expect(report.meanScores?["model"]?["accuracy"] == 8 && report.meanScores?["baseline"]?["score"] == 3)
        let user = try #require(endpoint.requests.first?.userText)
        for criterion in JudgeCriteria.summaryCriteria { #expect(user.contains(criterion)) }
        await client.shutdown()
        await endpoint.stop()
    }

    @Test("an answer without a verdict is counted, not guessed")
    func unparsable() async throws {
        let endpoint = try await ScriptedEndpoint.start { _ in .content("I would rather not say.") }
        let client = judgeClient(endpoint)
        let (report, records) = try await PairwiseJudge(client: client, config: JudgeConfig()).run(identicalItems(4))
        #expect(report.unparsed == 4 && report.winRate.items == 0 && records.allSatisfy { $0.score == nil })
        await client.shutdown()
        await endpoint.stop()
    }
}
