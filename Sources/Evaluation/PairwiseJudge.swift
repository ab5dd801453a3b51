import Chat
import Common
import Foundation
import JSON
import Tokenizers

/// A pairwise LLM judge over any `ChatCompleting` endpoint: presentation order balanced and shuffled per item
/// from a seed (the paper authors' script inverted half its results when it un-shuffled; here every verdict
/// is mapped back to identities once, where it is parsed), optionally both orders, every answer cached.
public struct PairwiseJudge: Sendable {
    /// The endpoint.
    public let client: any ChatCompleting
    /// The settings.
    public let config: JudgeConfig

    /// Creates a judge.
    public init(client: any ChatCompleting, config: JudgeConfig) {
        precondition(config.concurrency >= 1, "at least one request in flight")
        self.client = client
        self.config = config
    }

    /// The presentation order of each item (balanced shuffle, or the model first when not randomised).
    public func orders(count: Int) -> [PresentationOrder] {
        config.randomizeOrder
            ? PresentationOrder.balanced(count: count, seed: config.seed)
            : [PresentationOrder](repeating: .modelFirst, count: count)
    }

    /// The request for `item` shown in `order`.
    public func request(_ item: JudgeItem, order: PresentationOrder) -> ChatRequest {
        let (a, b) = order == .modelFirst ? (item.model, item.baseline) : (item.baseline, item.model)
        return ChatRequest(
            messages: [
                ChatMessage(role: "system", content: JudgePrompts.system(config.criteria)),
                ChatMessage(role: "user", content: JudgePrompts.user(config.criteria, prompt: item.prompt, a: a, b: b)),
            ],
            temperature: config.temperature, maxTokens: config.maxTokens)
    }

    /// The cache key of one verdict: SHA-256 over the item's id, the order shown, the judge model, the
    /// messages and the sampling settings. Each verdict is its own answer, so two verdicts whose prompts
    /// happen to be identical (an item whose answers are the same text, asked in both orders) are asked
    /// separately, and how many requests a run sends does not depend on which finishes first.
    public func cacheKey(_ request: ChatRequest, item: String, order: PresentationOrder) -> String {
        var text = "{\"item\":" + JSONValue.quoted(item) + ",\"order\":\"\(order.rawValue)\""
        text += ",\"model\":" + JSONValue.quoted(config.judgeModel) + ",\"messages\":["
        text += request.messages.map {
            "{\"role\":\(JSONValue.quoted($0.role)),\"content\":\(JSONValue.quoted($0.content))}"
        }
        .joined(separator: ",")
        text += "],\"temperature\":\(request.temperature),\"max_tokens\":\(request.maxTokens)}"
        return SHA256.hex(text)
    }

    /// Judges every item; `onRecord` sees each item's record as its last verdict lands.
    public func run(_ items: [JudgeItem]) async throws -> (report: JudgeReport, records: [JudgeRecord]) {
        let cache = try JudgeCache(path: config.cachePath)
        let orders = orders(count: items.count)
        var jobs: [(item: Int, order: PresentationOrder)] = []
        for (index, order) in orders.enumerated() {
            jobs.append((index, order))
            if config.bothOrders { jobs.append((index, order.flipped)) }
        }
        var verdicts = [[JudgeVerdict]](repeating: [], count: items.count)
        var requests = 0
        try await withThrowingTaskGroup(of: (Int, JudgeVerdict, Bool).self) { group in
            var next = 0
            func launch() {
                guard next < jobs.count else { return }
                let (index, order) = jobs[next]
                next += 1
                group.addTask { try await self.judge(items[index], index: index, order: order, cache: cache) }
            }
            for _ in 0..<min(config.concurrency, jobs.count) { launch() }
            while let (index, verdict, asked) = try await group.next() {
                verdicts[index].append(verdict)
                if asked { requests += 1 }
                launch()
            }
        }
        await cache.close()
        var records: [JudgeRecord] = []
        for (index, item) in items.enumerated() {
            let ordered = verdicts[index].sorted { $0.order == orders[index] && $1.order != orders[index] }
            let parsed = ordered.compactMap(\.preference)
            let score = parsed.isEmpty ? nil : parsed.reduce(0) { $0 + $1.score } / Double(parsed.count)
            records.append(JudgeRecord(id: item.id, verdicts: ordered, score: score))
        }
        let all = records.flatMap(\.verdicts)
        let report = JudgeReport(
            winRate: WinRate(perItem: records.map { $0.verdicts.compactMap(\.preference) }),
            unparsed: all.filter { $0.preference == nil }.count, requests: requests,
            cached: all.filter(\.cached).count, order: orderDescription, meanScores: meanScores(all))
        return (report, records)
    }

    var orderDescription: String {
        let base =
            config.randomizeOrder
            ? "balanced random order per item from seed \(config.seed)" : "model's answer always first"
        return config.bothOrders ? base + ", then each item again in the other order" : base
    }

    /// One verdict: from the cache, or asked and then cached; mapped from positions to identities.
    func judge(_ item: JudgeItem, index: Int, order: PresentationOrder, cache: JudgeCache) async throws
        -> (Int, JudgeVerdict, Bool)
    {
        let request = request(item, order: order)
        let key = cacheKey(request, item: item.id, order: order)
        var content: String
        let cached: Bool
        if let hit = await cache.answer(for: key) {
            content = hit
            cached = true
        } else {
            do {
                content = try await client.complete(request).content
            } catch {
                throw EvaluationError.judge(item: item.id, detail: "\(error)")
            }
            try await cache.store(key: key, id: item.id, content: content)
            cached = false
        }
        let positional = JudgePrompts.parse(config.criteria, answer: content)
        let modelIsA = order == .modelFirst
        var verdict = JudgeVerdict(
            order: order, preference: nil, modelScores: nil, baselineScores: nil, cached: cached, raw: content)
        if let positional {
            switch positional.winner {
            case .a?: verdict.preference = modelIsA ? .model : .baseline
            case .b?: verdict.preference = modelIsA ? .baseline : .model
            case nil: verdict.preference = .tie
            }
            if let scores = positional.scores {
                verdict.modelScores = modelIsA ? scores.a : scores.b
                verdict.baselineScores = modelIsA ? scores.b : scores.a
            }
        }
        return (index, verdict, !cached)
    }

    /// Mean overall and per-criterion scores of each side (SLF5K judge only).
    func meanScores(_ verdicts: [JudgeVerdict]) -> [String: [String: Double]]? {
        guard config.criteria == .slf5k else { return nil }
        func mean(_ scores: [SummaryScores]) -> [String: Double] {
            guard !scores.isEmpty else { return [:] }
            var out = ["score": scores.reduce(0) { $0 + $1.overall } / Double(scores.count)]
            for name in JudgeCriteria.summaryCriteria {
                let values = scores.compactMap { $0.criteria[name] }
                if !values.isEmpty { out[name] = values.reduce(0, +) / Double(values.count) }
            }
            return out
        }
        return [
            "model": mean(verdicts.compactMap(\.modelScores)), "baseline": mean(verdicts.compactMap(\.baselineScores)),
        ]
    }
}
