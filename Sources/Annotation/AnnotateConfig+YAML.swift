import Common
import LLMClient
import CodeSandbox
import Foundation
import Yams

extension AnnotateConfig {
    /// Optional values from one source (a YAML file or the flags); nil means "not set here".
    public struct Overrides: Codable, Sendable, Equatable {
        public var task: String?
        public var input: String?
        public var output: String?
        public var failures: String?
        public var baseURL: String?
        public var model: String?
        public var apiKey: String?
        public var temperature: Double?
        public var topP: Double?
        public var maxTokens: Int?
        public var concurrency: Int?
        public var maxRetries: Int?
        public var timeout: Double?
        public var backoffBase: Double?
        public var backoffCap: Double?
        public var jsonMode: Bool?
        public var reask: Bool?
        public var fuzzyThreshold: Double?
        public var badLines: BadLinePolicy?
        public var limit: Int?
        public var improvementScore: Double?
        public var priceTable: String?
        public var sandbox: SandboxOverrides?
        public var sandboxConcurrency: Int?
        public var progress: ProgressStyle?
        public var progressInterval: Double?
        public var resume: Bool?
        public var retryFailed: Bool?
        public var overwrite: Bool?
        public var abortAfter: Int?

        /// Nothing set.
        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case task, input, output, failures, model, temperature, concurrency, timeout, reask, limit, sandbox
            case progress, resume, overwrite
            case baseURL = "base_url"
            case apiKey = "api_key"
            case topP = "top_p"
            case maxTokens = "max_tokens"
            case maxRetries = "max_retries"
            case backoffBase = "backoff_base"
            case backoffCap = "backoff_cap"
            case jsonMode = "json_mode"
            case fuzzyThreshold = "fuzzy_threshold"
            case badLines = "bad_lines"
            case improvementScore = "improvement_score"
            case priceTable = "price_table"
            case sandboxConcurrency = "sandbox_concurrency"
            case progressInterval = "progress_interval"
            case retryFailed = "retry_failed"
            case abortAfter = "abort_after"
        }
    }

    /// Optional sandbox limits; see `SandboxLimits` for meanings and defaults.
    public struct SandboxOverrides: Codable, Sendable, Equatable {
        public var wallSeconds: Double?
        public var cpuSeconds: Int?
        public var memoryMB: Int?
        public var fileSizeMB: Int?
        public var diskMB: Int?
        public var processes: Int?
        public var python: String?

        /// Nothing set.
        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case wallSeconds = "wall_seconds"
            case cpuSeconds = "cpu_seconds"
            case memoryMB = "memory_mb"
            case fileSizeMB = "file_size_mb"
            case diskMB = "disk_mb"
            case processes, python
        }
    }

    /// Reads a YAML config file; unknown keys are errors so a typo cannot silently fall back to a default.
    public static func overrides(yamlFile path: String) throws -> Overrides {
        let text: String
        do {
            text = try InputFile.text(path: path)
        } catch FileError.io(_, let detail) {
            throw FeedbackError.io(path: path, detail: "config: \(detail)")
        }
        return try overrides(yaml: text, source: path)
    }

    /// Parses YAML config text; `source` labels errors.
    public static func overrides(yaml text: String, source: String) throws -> Overrides {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw FeedbackError.badConfig(source: source, detail: "not valid YAML (\(error))")
        }
        guard let root else { return Overrides() }
        guard let mapping = root as? [String: Any] else {
            throw FeedbackError.badConfig(source: source, detail: "the top level must be a mapping of settings")
        }
        let known = Set(Overrides.CodingKeys.allCases.map(\.rawValue))
        if let unknown = mapping.keys.sorted().first(where: { !known.contains($0) }) {
            throw FeedbackError.badConfig(
                source: source, detail: "unknown setting '\(unknown)'; known: \(known.sorted().joined(separator: ", "))"
            )
        }
        if let sandbox = mapping["sandbox"] as? [String: Any] {
            let knownSandbox = Set(SandboxOverrides.CodingKeys.allCases.map(\.rawValue))
            if let unknown = sandbox.keys.sorted().first(where: { !knownSandbox.contains($0) }) {
                throw FeedbackError.badConfig(source: source, detail: "unknown sandbox setting '\(unknown)'")
            }
        }
        do {
            return try YAMLDecoder().decode(Overrides.self, from: text)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw FeedbackError.badConfig(source: source, detail: "'\(key)': \(context.debugDescription)")
        } catch {
            throw FeedbackError.badConfig(source: source, detail: "\(error)")
        }
    }

    /// Applies every value `overrides` sets.
    public mutating func apply(_ overrides: Overrides) {
        task = overrides.task ?? task
        input = overrides.input ?? input
        output = overrides.output ?? output
        failures = overrides.failures ?? failures
        baseURL = overrides.baseURL ?? baseURL
        model = overrides.model ?? model
        apiKey = overrides.apiKey ?? apiKey
        temperature = overrides.temperature ?? temperature
        topP = overrides.topP ?? topP
        maxTokens = overrides.maxTokens ?? maxTokens
        concurrency = overrides.concurrency ?? concurrency
        maxRetries = overrides.maxRetries ?? maxRetries
        timeout = overrides.timeout ?? timeout
        backoffBase = overrides.backoffBase ?? backoffBase
        backoffCap = overrides.backoffCap ?? backoffCap
        jsonMode = overrides.jsonMode ?? jsonMode
        reask = overrides.reask ?? reask
        fuzzyThreshold = overrides.fuzzyThreshold ?? fuzzyThreshold
        badLines = overrides.badLines ?? badLines
        limit = overrides.limit ?? limit
        improvementScore = overrides.improvementScore ?? improvementScore
        priceTable = overrides.priceTable ?? priceTable
        sandboxConcurrency = overrides.sandboxConcurrency ?? sandboxConcurrency
        progress = overrides.progress ?? progress
        progressInterval = overrides.progressInterval ?? progressInterval
        resume = overrides.resume ?? resume
        retryFailed = overrides.retryFailed ?? retryFailed
        overwrite = overrides.overwrite ?? overwrite
        abortAfter = overrides.abortAfter ?? abortAfter
        if let box = overrides.sandbox {
            sandbox.wallSeconds = box.wallSeconds ?? sandbox.wallSeconds
            sandbox.cpuSeconds = box.cpuSeconds ?? sandbox.cpuSeconds
            sandbox.memoryMB = box.memoryMB ?? sandbox.memoryMB
            sandbox.fileSizeMB = box.fileSizeMB ?? sandbox.fileSizeMB
            sandbox.diskMB = box.diskMB ?? sandbox.diskMB
            sandbox.processes = box.processes ?? sandbox.processes
            sandbox.python = box.python ?? sandbox.python
        }
    }

    /// The resolved configuration as YAML, loadable with `--config`; the API key is left out.
    ///
    /// Written by hand rather than with `YAMLEncoder`, which prints 0.3 as `3e-1`; strings are
    /// double-quoted JSON strings, which YAML reads as they are.
    public func resolvedYAML() throws -> String {
        func quoted(_ text: String) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        }
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
        }
        var lines = [
            "# Resolved configuration of `text2grad annotate` (the API key is never written here).",
            "task: \(quoted(task))",
            "input: \(quoted(input))",
            "output: \(quoted(output))",
            "failures: \(quoted(failuresPath))",
            "base_url: \(quoted(publicURL(baseURL)))",
            "model: \(quoted(model))",
            "temperature: \(number(temperature))",
        ]
        if let topP { lines.append("top_p: \(number(topP))") }
        lines += [
            "max_tokens: \(maxTokens)",
            "concurrency: \(concurrency)",
            "max_retries: \(maxRetries)",
            "timeout: \(number(timeout))",
            "backoff_base: \(number(backoffBase))",
            "backoff_cap: \(number(backoffCap))",
            "json_mode: \(jsonMode)",
            "reask: \(reask)",
            "fuzzy_threshold: \(number(fuzzyThreshold))",
            "bad_lines: \(badLines.rawValue)",
        ]
        if let limit { lines.append("limit: \(limit)") }
        lines.append("improvement_score: \(number(improvementScore))")
        if let priceTable { lines.append("price_table: \(quoted(priceTable))") }
        lines += [
            "sandbox:",
            "  wall_seconds: \(number(sandbox.wallSeconds))",
            "  cpu_seconds: \(sandbox.cpuSeconds)",
            "  memory_mb: \(sandbox.memoryMB)",
            "  file_size_mb: \(sandbox.fileSizeMB)",
            "  disk_mb: \(sandbox.diskMB)",
            "  processes: \(sandbox.processes)",
            "  python: \(quoted(sandbox.python))",
            "sandbox_concurrency: \(sandboxConcurrency)",
            "progress: \(progress.rawValue)",
            "progress_interval: \(number(progressInterval))",
            "abort_after: \(abortAfter)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
