import ArgumentParser
import Common
import Evaluation
import Foundation
import LLMClient

/// `text2grad eval judge`: an LLM judge's win rate of predictions over a baseline's.
struct EvalJudge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract:
            "Pairwise LLM-as-judge win rate of predictions against a baseline, over any OpenAI-compatible endpoint.",
        discussion: """
            --predictions and --baseline are JSONL (or JSON lists) with "id" and "prediction" (or "response" / \
            "output") per record, matched by id; the prompt is the record's "prompt" (or "post", "query", \
            "instruction"). Which answer the judge sees first is shuffled per item from --seed, balanced so that \
            a judge that favours one position adds nothing; --both-orders asks each item in both orders. Every \
            answer is cached in --cache (keyed by a SHA-256 of the request), so a rerun asks nothing twice. \
            Writes one JSON line per item to --output and the win rate (ties count half) with its standard \
            error to standard output.
            """)

    @Option(help: "The evaluated model's outputs.")
    var predictions: String

    @Option(help: "The baseline's outputs.")
    var baseline: String

    @Option(help: "Judge endpoint base URL up to /v1. (default: $OPENAI_BASE_URL or OpenAI)")
    var judgeUrl: String?

    @Option(help: "Judge model.")
    var judgeModel: String = "gpt-4o"

    @Option(help: "API key. (default: $OPENAI_API_KEY; prefer the variable: flags show in ps)")
    var apiKey: String?

    @Option(help: "preference (which answer is better) or slf5k (the paper's four-criteria summary judge).")
    var criteria: JudgeCriteria = .preference

    @Option(help: "Seed of the presentation orders.")
    var seed: UInt64 = 0

    @Flag(inversion: .prefixedNo, help: "Shuffle which answer comes first. (default: on)")
    var randomize = true

    @Flag(help: "Ask each item twice, once in each order.")
    var bothOrders = false

    @Option(help: "Answer cache, JSONL. (default: <output>.cache.jsonl, or none without --output)")
    var cache: String?

    @Option(help: "Per-item verdicts, JSONL.")
    var output: String?

    @Option(name: [.short, .long], help: "Requests in flight at once.")
    var concurrency: Int = 8

    @Option(help: "Judge completion token limit.")
    var maxTokens: Int = 1024

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 256 else {
            throw ValidationError("--concurrency must be within 1...256")
        }
        guard maxTokens >= 1 && maxTokens <= 1 << 20 else { throw ValidationError("--max-tokens must be positive") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = judgeUrl ?? environment["OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"
        var settings = EndpointSettings(
            baseURL: url, model: judgeModel, apiKey: apiKey ?? environment["OPENAI_API_KEY"])
        settings.connections = concurrency
        settings.jsonMode = true
        let client = OpenAIClient(settings: settings)
        do {
            let items = try JudgeItem.pair(predictions: predictions, baseline: baseline)
            var config = JudgeConfig()
            config.criteria = criteria
            config.seed = seed
            config.randomizeOrder = randomize
            config.bothOrders = bothOrders
            config.maxTokens = maxTokens
            config.concurrency = concurrency
            config.cachePath = cache ?? output.map { $0 + ".cache.jsonl" }
            config.judgeModel = judgeModel + "@" + url
            let (report, records) = try await PairwiseJudge(client: client, config: config).run(items)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let output {
                let sink = try JSONLWriter(path: output)
                for record in records { try sink.writeLine(String(decoding: try encoder.encode(record), as: UTF8.self)) }
            }
            encoder.outputFormatting.insert(.prettyPrinted)
            try StandardOutput.write(try encoder.encode(report) + Data("\n".utf8))
            await client.shutdown()
        } catch let error as EvaluationError {
            await client.shutdown()
            note("error: \(error)")
            throw Exit.failure
        }
    }
}

extension JudgeCriteria: ExpressibleByArgument {}
