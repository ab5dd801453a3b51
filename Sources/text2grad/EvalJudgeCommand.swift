import ArgumentParser
import Common
import Evaluation
import Foundation
import LLMClient

/// `text2grad eval judge`: an LLM judge's win rate of predictions over a baseline's.
struct EvalJudge: AsyncParsableCommand, ConfiguredCommand {
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

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Judge endpoint") var endpoint: EndpointOptions<EvalJudge>

    @Option(help: "The evaluated model's outputs.")
    var predictions: String?

    @Option(help: "The baseline's outputs.")
    var baseline: String?

    @Option(help: ArgumentHelp("preference (which answer is better) or slf5k (the paper's four-criteria summary judge)."
                               + Self.defaultNote(\.criteria)))
    var criteria: JudgeCriteria?

    @Option(help: ArgumentHelp("Seed of the presentation orders." + Self.defaultNote(\.seed)))
    var seed: UInt64?

    @Flag(inversion: .prefixedNo, help: "Shuffle which answer comes first. (default: on)")
    var randomize: Bool?

    @Flag(help: "Ask each item twice, once in each order.")
    var bothOrders = false

    @Option(help: "Answer cache, JSONL. (default: <output>.cache.jsonl, or none without --output)")
    var cache: String?

    @Option(help: "Per-item verdicts, JSONL.")
    var output: String?

    @Option(help: ArgumentHelp("The judge's response budget: completion tokens at most."
                               + Self.defaultNote(\.maxNewTokens)))
    var maxNewTokens: Int?

    @Option(name: .customLong("max-tokens"), help: .hidden) var maxTokens: Int?
    @Option(name: .customLong("judge-url"), help: .hidden) var judgeURL: String?
    @Option(name: .customLong("judge-model"), help: .hidden) var judgeModel: String?

    func resolvedConfig() throws -> EvalJudgeConfig {
        let base = EvalJudgeConfig(environment: ProcessInfo.processInfo.environment)
        return try Self.resolve(base: base, file: file.config) { c in
            c.endpoint.apiKey = base.endpoint.apiKey
            c.endpoint.override(\.baseURL, judgeURL)
            c.endpoint.override(\.model, judgeModel)
            endpoint.apply(to: &c)
            c.override(\.predictions, predictions)
            c.override(\.baseline, baseline)
            c.override(\.criteria, criteria)
            c.override(\.seed, seed)
            c.override(\.randomize, randomize)
            if bothOrders { c.bothOrders = true }
            c.override(\.cache, cache)
            c.override(\.output, output)
            c.override(\.maxNewTokens, maxNewTokens ?? maxTokens)
        }
    }

    func run() async throws {
        let c = try resolvedConfig()
        let client = OpenAIClient(settings: c.endpoint)
        do {
            let items = try JudgeItem.pair(predictions: c.predictions, baseline: c.baseline)
            let (report, records) = try await PairwiseJudge(client: client, config: c.judge).run(items)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let output = c.output {
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
