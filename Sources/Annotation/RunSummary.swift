import Common
import Foundation
import Spans
import Tasks
import Yams

/// What a run did, for the closing summary and for tests.
public struct RunSummary: Sendable, Equatable {
    /// Items in the input (after rejected entries).
    public var inputItems: Int
    /// Items skipped because the output already had them (resume).
    public var alreadyDone: Int
    /// Items attempted in this run.
    public var attempted: Int
    /// Records written in this run.
    public var records: Int
    /// Items that failed in this run, by kind (input rejections included as `bad_input`).
    public var failures: [String: Int]
    /// Spans written in this run.
    public var spans: Int
    /// Spans per match kind.
    public var matches: [MatchKind: Int]
    /// Tokens over every request of this run, failed items included.
    public var usage: TokenUsage
    /// Estimated dollars, nil when the model is not in the price table.
    public var cost: Double?
    /// Wall time of the annotation phase, in seconds.
    public var seconds: Double
    /// Bytes of a torn last line removed from the output on resume.
    public var truncatedBytes: Int

    /// Share of spans that could not be aligned (the paper's bar: under 5%).
    public var unmatchedRate: Double {
        spans == 0 ? 0 : Double(matches[.unmatched] ?? 0) / Double(spans)
    }

    /// Total failures of this run.
    public var failureCount: Int { failures.values.reduce(0, +) }

    /// The closing summary, several lines, for people.
    public var report: String {
        var lines: [String] = []
        let rate = seconds > 0 ? Double(attempted) / seconds : 0
        let timing = String(format: "%.1f s, %.1f items/s", seconds, rate)
        lines.append(
            "annotate: \(records) records written, \(failureCount) failed, \(alreadyDone) already done "
                + "(of \(inputItems) items) in \(timing)")
        if !failures.isEmpty {
            let kinds = failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("failures by kind: \(kinds)")
        }
        let kinds = MatchKind.allCases.map { "\($0.rawValue) \(matches[$0] ?? 0)" }.joined(separator: ", ")
        lines.append(
            "spans: \(spans) (\(kinds)); unmatched rate \(String(format: "%.2f", unmatchedRate * 100))%")
        var tokens = "tokens: \(usage.promptTokens) prompt + \(usage.completionTokens) completion"
        if let cost {
            tokens += "; estimated cost $\(String(format: "%.4f", cost))"
        } else {
            tokens += "; cost unknown for this model (add it with --price-table)"
        }
        lines.append(tokens)
        if truncatedBytes > 0 {
            lines.append("resume: cut \(truncatedBytes) bytes of a torn last line from the output")
        }
        return lines.joined(separator: "\n")
    }
}

/// Counters shared by the concurrent item tasks.
actor RunStats {
    private(set) var records = 0
    private(set) var failures: [String: Int] = [:]
    private(set) var spans = 0
    private(set) var matches: [MatchKind: Int] = [:]
    private(set) var usage = TokenUsage()

    func add(record: AnnotationRecord) {
        records += 1
        spans += record.spans.count
        for span in record.spans { matches[span.match, default: 0] += 1 }
    }

    func add(failure kind: String) {
        failures[kind, default: 0] += 1
    }

    func add(usage more: TokenUsage) {
        usage = usage + more
    }
}

/// US dollars per million tokens for one model.
public struct ModelPrice: Codable, Sendable, Equatable {
    /// Price of a million prompt tokens.
    public var input: Double
    /// Price of a million completion tokens.
    public var output: Double

    /// Creates a price.
    public init(input: Double, output: Double) {
        self.input = input
        self.output = output
    }
}

/// Model prices for the cost estimate; editable via a YAML file `{model: {input: …, output: …}}`.
///
/// The built-in figures are list prices as published by OpenAI in 2025 and will drift: pass
/// `--price-table` for current or negotiated prices. Lookup tries the exact model name, then the
/// longest built-in name that prefixes it (so `gpt-4o-2024-08-06` is priced as `gpt-4o`).
public struct PriceTable: Sendable, Equatable {
    /// Prices by model name.
    public var prices: [String: ModelPrice]

    /// The built-in table.
    public static let builtin = PriceTable(prices: [
        "gpt-4o": ModelPrice(input: 2.50, output: 10.00),
        "gpt-4o-mini": ModelPrice(input: 0.15, output: 0.60),
        "gpt-4.1": ModelPrice(input: 2.00, output: 8.00),
        "gpt-4.1-mini": ModelPrice(input: 0.40, output: 1.60),
        "gpt-4.1-nano": ModelPrice(input: 0.10, output: 0.40),
        "gpt-4-turbo": ModelPrice(input: 10.00, output: 30.00),
        "gpt-4-1106-preview": ModelPrice(input: 10.00, output: 30.00),
        "o4-mini": ModelPrice(input: 1.10, output: 4.40),
    ])

    /// Creates a table.
    public init(prices: [String: ModelPrice]) {
        self.prices = prices
    }

    /// The built-in table overlaid with the entries of a YAML file.
    public static func load(path: String) throws -> PriceTable {
        let text: String
        do {
            text = try InputFile.text(path: path)
        } catch FileError.io(_, let detail) {
            throw AnnotationError.io(path: path, detail: "price table: \(detail)")
        }
        let entries: [String: ModelPrice]
        do {
            entries = try YAMLDecoder().decode([String: ModelPrice].self, from: text)
        } catch {
            throw AnnotationError.badConfig(
                source: path,
                detail: "a price table maps model names to {input: $/1M tokens, output: $/1M tokens} (\(error))")
        }
        var table = builtin
        table.prices.merge(entries) { _, new in new }
        return table
    }

    /// The price for `model`, or nil when unknown (the summary then shows tokens only).
    public func price(for model: String) -> ModelPrice? {
        if let exact = prices[model] { return exact }
        let prefix = prices.keys.filter { model.hasPrefix($0 + "-") }.max { $0.count < $1.count }
        return prefix.flatMap { prices[$0] }
    }

    /// Estimated dollars for `usage` on `model`, or nil when the model is not in the table.
    public func cost(_ usage: TokenUsage, model: String) -> Double? {
        guard let price = price(for: model) else { return nil }
        return (Double(usage.promptTokens) * price.input + Double(usage.completionTokens) * price.output) / 1_000_000
    }
}
