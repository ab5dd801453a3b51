import CodeSandbox
import Common
import Foundation
import Tasks
import Yams

/// Everything `text2grad annotate` needs, with documented defaults: a `RunConfiguration` like the trainers', whose
/// endpoint group (the teacher: URL, model, concurrency, retries, timeouts) is the one `eval judge` uses.
///
/// Resolution, later wins (`resolve`): these defaults → `OPENAI_BASE_URL` / `OPENAI_API_KEY` → the YAML config
/// file → command-line flags. The resolved configuration is saved beside the output as
/// `<output>.config.yaml`, without the API key (never a YAML key: the environment or `--api-key`) and without
/// credentials in the URL.
public struct AnnotateConfig: RunConfiguration, Equatable {
    /// The teacher's endpoint and how to ask it.
    public var endpoint = EndpointSettings()
    /// `summarization`, `code`, `qa`, or the path of a custom task YAML file.
    public var task = "summarization"
    /// Input file: JSONL, a JSON list, or a JSON object keyed by id.
    public var input = ""
    /// Output JSONL of annotation records.
    public var output = ""
    /// Failures side file; default: the output path with `.failures.jsonl` replacing `.jsonl`.
    public var failures: String?
    /// Sampling temperature.
    public var temperature = 0.3
    /// Nucleus sampling; not sent when unset.
    public var topP: Double?
    /// The response budget: completion tokens at most per request (sent as `max_tokens`).
    public var maxNewTokens = 1200
    /// Ask once more when the answer cannot be parsed.
    public var reask = true
    /// Similarity a fuzzy span match needs.
    public var fuzzyThreshold = 0.8
    /// What to do with a bad input line or item.
    public var badLines = BadLinePolicy.fatal
    /// Annotate at most this many pending items.
    public var limit: Int?
    /// Score of `improvement_code` spans in the code task.
    public var improvementScore = 0.0
    /// YAML price table overlaying the built-in one.
    public var priceTable: String?
    /// Limits for test runs in the code task.
    public var sandbox = SandboxLimits()
    /// Test runs at once (they use CPU; requests mostly wait).
    public var sandboxConcurrency = 2
    /// Progress display.
    public var progress = ProgressStyle.auto
    /// Seconds between plain progress lines.
    public var progressInterval = 10.0
    /// Continue an existing output, skipping ids it holds and ids that failed before.
    public var resume = false
    /// Like `resume`, and also try again the ids in the failures file.
    public var retryFailed = false
    /// Start over: empty the output and failures files first.
    public var overwrite = false
    /// Stop when the first this-many items all fail with the same endpoint error (a wrong URL, key
    /// or model would otherwise fail every item of a long run); 0 never stops. Parse failures never count.
    public var abortAfter = 10

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case endpoint, task, input, output, failures, temperature, topP = "top_p", maxNewTokens = "max_new_tokens"
        case reask, fuzzyThreshold = "fuzzy_threshold", badLines = "bad_lines", limit
        case improvementScore = "improvement_score", priceTable = "price_table"
        case sandbox, sandboxConcurrency = "sandbox_concurrency", progress, progressInterval = "progress_interval"
        case resume, retryFailed = "retry_failed", overwrite, abortAfter = "abort_after"
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.endpoint, EndpointSettings.self)]
    }

    /// The key the response budget had before it got one name in every command.
    public static var renamedKeys: [String: String] { ["max_tokens": "max_new_tokens"] }

    /// The defaults alone.
    public init() {}

    /// The defaults, then the environment's endpoint and key.
    public init(environment: [String: String]) {
        endpoint = EndpointSettings(environment: environment)
    }

    /// Defaults → environment → the YAML file at `path` (if any) → `flags`; validated. Unknown keys, also inside
    /// `sandbox:`, are errors naming the key and the file.
    public static func resolve(
        path: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        flags: (inout AnnotateConfig) throws -> Void = { _ in }
    ) throws -> AnnotateConfig {
        let base = AnnotateConfig(environment: environment)
        var config = try ConfigFile.resolve(AnnotateConfig.self, base: base, path: path) { config in
            config.endpoint.apiKey = base.endpoint.apiKey
            try flags(&config)
        }
        return config
    }

    /// The configuration as saved beside the output: no key, no credentials in the URL.
    public var saved: AnnotateConfig {
        var copy = self
        copy.endpoint = endpoint.saved
        return copy
    }

    /// The failures path actually used.
    public var failuresPath: String {
        if let failures { return failures }
        return (output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output) + ".failures.jsonl"
    }

    /// Checks values a run cannot start with; throws naming the setting.
    public func validate() throws {
        func fail(_ detail: String) -> AnnotationError { .badConfig(source: "annotate", detail: detail) }
        if input.isEmpty { throw fail("no input file (--input or `input:`)") }
        if output.isEmpty { throw fail("no output file (--output or `output:`)") }
        if input == output { throw fail("input and output are the same file") }
        if failuresPath == output { throw fail("the failures file cannot be the output file") }
        try endpoint.validate(fail)
        if maxNewTokens < 1 { throw fail("max_new_tokens must be ≥ 1") }
        if !(0...2).contains(temperature) { throw fail("temperature must be within 0...2") }
        if let topP, !(topP > 0 && topP <= 1) { throw fail("top_p must be within (0, 1]") }
        if !(fuzzyThreshold > 0 && fuzzyThreshold <= 1) { throw fail("fuzzy_threshold must be within (0, 1]") }
        if let limit, limit < 0 { throw fail("limit must be ≥ 0") }
        if overwrite && (resume || retryFailed) {
            throw fail("--overwrite cannot be combined with --resume/--retry-failed")
        }
        if sandboxConcurrency < 1 { throw fail("sandbox_concurrency must be ≥ 1") }
        try sandbox.validate(fail)
        if !(progressInterval > 0) { throw fail("progress_interval must be > 0") }
        if !improvementScore.isFinite { throw fail("improvement_score must be finite") }
        if abortAfter < 0 { throw fail("abort_after must be ≥ 0") }
    }
}
