import Common
import Foundation
import JSON
import PolicyOptimization
import RewardModel
import Yams

/// `metrics.jsonl` as columns: every numeric key by step. A null (a non-finite value when it was logged) is
/// absent, so a curve skips it instead of drawing a made-up number.
public struct MetricsTable: Sendable, Equatable {
    /// The logged steps, ascending.
    public private(set) var steps: [Int] = []
    /// Each key's finite values by step.
    public private(set) var columns: [String: [Int: Double]] = [:]

    /// An empty table.
    public init() {}

    /// Reads `path`; each line needs an integer `step` ≥ 0. A later line of the same step replaces the earlier one
    /// (as a resumed run's file reads).
    public static func load(path: String) throws -> MetricsTable {
        var table = MetricsTable()
        for line in try JSONLines.read(path: path) {
            guard let step = integer(line.object["step"]), step >= 0 else {
                throw FileError.badLine(path: path, line: line.number, detail: "'step' must be an integer ≥ 0")
            }
            table.set(step: step, line.object)
        }
        return table
    }

    /// Adds or replaces one step's record (numbers only; `step` itself, nulls and strings are left out).
    public mutating func set(step: Int, _ object: JSONValue) {
        for key in columns.keys { columns[key]![step] = nil }
        if !steps.contains(step) {
            steps.append(step)
            steps.sort()
        }
        for (key, value) in object.objectValue ?? [] where key != "step" {
            guard let n = number(value) else { continue }
            columns[key, default: [:]][step] = n
        }
    }

    /// The key's (step, value) pairs in step order.
    public func series(_ key: String) -> [(step: Int, value: Double)] {
        guard let column = columns[key] else { return [] }
        return column.keys.sorted().map { ($0, column[$0]!) }
    }

    /// The key's value at the last step that has one.
    public func last(_ key: String) -> (step: Int, value: Double)? { series(key).last }

    /// Whether any step logged the key.
    public func has(_ key: String) -> Bool { !(columns[key]?.isEmpty ?? true) }
}

/// One critiqued span of a sample: the quote, its label and score, and where it was found in the response.
public struct CritiqueSpan: Sendable, Equatable {
    public var text: String
    public var label: String
    public var score: Double?
    public var start: Int?
    public var end: Int?
    /// exact, normalized, fuzzy or unmatched.
    public var match: String?
}

/// One response token's figures from `samples.jsonl`: its text and PPO's per-token numbers.
public struct TokenFigures: Sendable, Equatable {
    public var id: Int?
    public var text: String
    /// s_t: the span score (token mode) or the sequence score on the last token (scalar mode).
    public var score: Double?
    /// The score of the span the token lies in, whatever the mode.
    public var spanScore: Double?
    public var kl: Double?
    /// r_t = s_t − β·KL_t.
    public var reward: Double?
    public var advantage: Double?
    public var value: Double?
}

/// One rollout of `samples.jsonl`: prompt, response, the critique (or why it failed) and per-token figures.
public struct RolloutSample: Sendable, Equatable {
    public var step: Int
    public var id: String
    public var prompt: String
    public var response: String
    public var mode: String?
    /// "eval" for a held-out response logged at an evaluation (its tokens carry span scores only), nil for a rollout.
    public var split: String?
    public var sequenceScore: Double?
    public var critique: String?
    /// Why the critique could not be used (its raw text is `raw`).
    public var critiqueFailure: String?
    public var raw: String?
    public var spans: [CritiqueSpan] = []
    public var taskMetric: Double?
    /// In response order; their texts concatenate to the response.
    public var tokens: [TokenFigures] = []

    /// Every sample of a `samples.jsonl`; a line without an integer `step` or a string `response` is an error
    /// naming it, optional fields of the wrong type are left out.
    public static func load(path: String) throws -> [RolloutSample] {
        try JSONLines.read(path: path).map { line in
            let o = line.object
            func bad(_ detail: String) -> FileError { FileError.badLine(path: path, line: line.number, detail: detail) }
            guard let step = integer(o["step"]), step >= 0 else { throw bad("'step' must be an integer ≥ 0") }
            guard let response = o["response"]?.stringValue else { throw bad("'response' must be a string") }
            var sample = RolloutSample(step: step, id: identifier(o["id"]) ?? "",
                                       prompt: o["prompt"]?.stringValue ?? "", response: response)
            sample.mode = o["mode"]?.stringValue
            sample.split = o["split"]?.stringValue
            sample.sequenceScore = number(o["sequence_score"])
            sample.critique = o["critique"]?.stringValue
            sample.critiqueFailure = o["critique_failure"]?.stringValue
            sample.raw = o["raw"]?.stringValue
            sample.taskMetric = number(o["task_metric"])
            sample.spans = (o["spans"]?.arrayValue ?? []).compactMap { s in
                guard s.objectValue != nil, let text = s["text"]?.stringValue else { return nil }
                return CritiqueSpan(text: text, label: s["label"]?.stringValue ?? "", score: number(s["score"]),
                                    start: integer(s["start"]), end: integer(s["end"]), match: s["match"]?.stringValue)
            }
            let tokens = o["tokens"]
            guard tokens == nil || tokens?.arrayValue != nil else { throw bad("'tokens' must be a list") }
            sample.tokens = try (tokens?.arrayValue ?? []).enumerated().map { j, t in
                guard t.objectValue != nil, let text = t["text"]?.stringValue else {
                    throw bad("tokens[\(j)] needs a string 'text'")
                }
                return TokenFigures(id: integer(t["id"]), text: text, score: number(t["score"]),
                                    spanScore: number(t["span_score"]), kl: number(t["kl"]),
                                    reward: number(t["reward"]), advantage: number(t["advantage"]),
                                    value: number(t["value"]))
            }
            return sample
        }
    }
}

/// One `train-policy` run directory: its resolved settings, metrics and samples.
public struct PolicyRun: Sendable {
    /// The directory relative to the report's root (its own name when the root is the run).
    public var name: String
    public var directory: String
    /// `reward_mode` from config.yaml (token, scalar), or "run" when the run has no config.yaml.
    public var rewardMode: String
    /// `reward` from config.yaml: the critic that rewarded the run (rm, builtin, ...), then a reward model's answer
    /// format when it is not critique+spans (`rm dense`, from `rm_target`); nil without a config.yaml.
    public var reward: String?
    public var seed: Int?
    /// config.yaml's top-level settings in file order, values as written.
    public var settings: [(key: String, value: String)]
    public var metrics: MetricsTable
    public var samples: [RolloutSample]

    /// Reads `directory`: metrics.jsonl (required), config.yaml and samples.jsonl (each optional).
    public static func load(directory: String, name: String) throws -> PolicyRun {
        let manager = FileManager.default
        let configPath = directory + "/config.yaml", samplesPath = directory + "/samples.jsonl"
        let hasConfig = manager.fileExists(atPath: configPath)
        let settings = hasConfig ? try readSettings(path: configPath) : []
        // The run's settings decoded with the type train-policy saved them with: a file it could not have written
        // (an unknown key, a word for a number) is an error naming the file and the key.
        let config = try hasConfig ? ConfigFile.decode(PPOConfig.self, yaml: InputFile.text(path: configPath),
                                                        source: configPath) : nil
        return PolicyRun(
            name: name, directory: directory, rewardMode: config?.rewardMode.rawValue ?? "run",
            reward: config.map(Self.critic), seed: config.map { Int(clamping: $0.loop.seed) },
            settings: settings,
            metrics: try MetricsTable.load(path: directory + "/metrics.jsonl"),
            samples: manager.fileExists(atPath: samplesPath) ? try RolloutSample.load(path: samplesPath) : [])
    }

    /// The critic's name: its source, and a reward model's format unless it is the default (a run saved before
    /// train-policy recorded the format: the one saved beside its reward model, when that is still there).
    static func critic(_ config: PPOConfig) -> String {
        let source = config.critic.source.rawValue
        var target = config.critic.target
        if target == nil, config.critic.source == .rm, let directory = config.critic.adapter ?? config.critic.model {
            target = (try? RewardModelInfo.load(directory: directory))??.target
        }
        guard let target, target != .critiqueSpans else { return source }
        return source + " " + target.rawValue
    }

    /// The top-level keys of a YAML mapping and their values (lists joined by ", ", nested mappings inline).
    static func readSettings(path: String) throws -> [(key: String, value: String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileError.io(path: path, detail: "cannot read the file")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw FileError.badConfig(source: path, detail: "not valid YAML (\(error))")
        }
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else {
            throw FileError.badConfig(source: path, detail: "the top level must be a mapping of settings")
        }
        func render(_ node: Node) -> String {
            switch node {
            case .scalar(let scalar): return scalar.string
            case .sequence(let items): return items.map(render).joined(separator: ", ")
            case .mapping(let pairs):
                return pairs.map { "\(render($0.key)): \(render($0.value))" }.joined(separator: ", ")
            case .alias: return "*"
            }
        }
        return mapping.map { (render($0.key), render($0.value)) }
    }
}

// MARK: - JSON values

/// An integral JSON number (never a boolean: a report must not plot `true` as 1) as an Int.
func integer(_ value: JSONValue?) -> Int? { value?.intValue }

/// A JSON number (never a boolean).
func number(_ value: JSONValue?) -> Double? { value?.numberValue }

/// A string id, or a numeric one written as an integer.
func identifier(_ value: JSONValue?) -> String? { value?.stringValue ?? integer(value).map(String.init) }
