import Common
import LLMClient
import CodeSandbox
import Foundation
import Yams

/// Everything `text2grad annotate` needs, with documented defaults: a `RunConfiguration` like the trainers'.
///
/// Resolution, later wins (`resolve`): these defaults → `OPENAI_BASE_URL` / `OPENAI_API_KEY` → the YAML config
/// file → command-line flags. The resolved configuration is saved beside the output as
/// `<output>.config.yaml`, without the API key (never a YAML key: the environment or `--api-key`) and without
/// credentials in the URL.
public struct AnnotateConfig: RunConfiguration, Equatable {
    /// `summarization`, `code`, `qa`, or the path of a custom task YAML file.
    public var task = "summarization"
    /// Input file: JSONL, a JSON list, or a JSON object keyed by id.
    public var input = ""
    /// Output JSONL of annotation records.
    public var output = ""
    /// Failures side file; default: the output path with `.failures.jsonl` replacing `.jsonl`.
    public var failures: String?
    /// Endpoint base URL up to `/v1`.
    public var baseURL = "https://api.openai.com/v1"
    /// Teacher model.
    public var model = "gpt-4o-mini"
    /// API key; never saved, logged or written to records.
    public var apiKey: String?
    /// Sampling temperature.
    public var temperature = 0.3
    /// Nucleus sampling; not sent when unset.
    public var topP: Double?
    /// Completion token limit per request.
    public var maxTokens = 1200
    /// Requests in flight at once.
    public var concurrency = 8
    /// Retries after the first attempt of a request.
    public var maxRetries = 6
    /// Per-attempt timeout in seconds.
    public var timeout = 120.0
    /// First backoff delay in seconds.
    public var backoffBase = 0.5
    /// Largest backoff delay in seconds.
    public var backoffCap = 30.0
    /// Ask for `response_format: json_object` (turned off automatically if the server rejects it).
    public var jsonMode = true
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
        case task, input, output, failures, baseURL = "base_url", model, temperature, topP = "top_p"
        case maxTokens = "max_tokens", concurrency, maxRetries = "max_retries", timeout, backoffBase = "backoff_base"
        case backoffCap = "backoff_cap", jsonMode = "json_mode", reask, fuzzyThreshold = "fuzzy_threshold"
        case badLines = "bad_lines", limit, improvementScore = "improvement_score", priceTable = "price_table"
        case sandbox, sandboxConcurrency = "sandbox_concurrency", progress, progressInterval = "progress_interval"
        case resume, retryFailed = "retry_failed", overwrite, abortAfter = "abort_after"
    }

    /// The defaults alone.
    public init() {}

    /// The defaults, then the environment's endpoint and key.
    public init(environment: [String: String]) {
        if let url = environment["OPENAI_BASE_URL"], !url.isEmpty { baseURL = url }
        if let key = environment["OPENAI_API_KEY"], !key.isEmpty { apiKey = key }
    }

    /// Defaults → environment → the YAML file at `path` (if any) → `flags` (`flags.set("sandbox.python", …)` sets
    /// one sandbox limit) and `apiKey`; validated. Unknown keys, also inside `sandbox:`, are errors naming the key
    /// and the file.
    public static func resolve(
        path: String?, flags: ConfigOverrides = ConfigOverrides(), apiKey: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AnnotateConfig {
        let base = AnnotateConfig(environment: environment)
        let text = try path.map { try InputFile.text(path: $0) } ?? ""
        var config = try ConfigFile.decode(AnnotateConfig.self, base: base, yaml: text, source: path ?? "flags",
                                           overrides: flags)
        config.apiKey = apiKey ?? base.apiKey
        try config.validate()
        return config
    }

    /// The configuration as saved beside the output: no key, no credentials in the URL.
    public var saved: AnnotateConfig {
        var copy = self
        copy.apiKey = nil
        copy.baseURL = publicURL(baseURL)
        return copy
    }

    /// The failures path actually used.
    public var failuresPath: String {
        if let failures { return failures }
        return (output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output) + ".failures.jsonl"
    }

    /// Checks values a run cannot start with; throws naming the setting.
    public func validate() throws {
        func fail(_ detail: String) -> FeedbackError { .badConfig(source: "annotate", detail: detail) }
        if input.isEmpty { throw fail("no input file (--input or `input:`)") }
        if output.isEmpty { throw fail("no output file (--output or `output:`)") }
        if input == output { throw fail("input and output are the same file") }
        if failuresPath == output { throw fail("the failures file cannot be the output file") }
        if model.isEmpty { throw fail("model is empty") }
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else { throw fail("base_url '\(publicURL(baseURL))' is not an http(s) URL") }
        if concurrency < 1 || concurrency > 1024 { throw fail("concurrency must be 1...1024, got \(concurrency)") }
        if maxRetries < 0 { throw fail("max_retries must be ≥ 0") }
        if !(timeout > 0) { throw fail("timeout must be > 0 seconds") }
        if !(backoffBase >= 0) || !(backoffCap >= backoffBase) { throw fail("need 0 ≤ backoff_base ≤ backoff_cap") }
        if maxTokens < 1 { throw fail("max_tokens must be ≥ 1") }
        if !(0...2).contains(temperature) { throw fail("temperature must be within 0...2") }
        if let topP, !(topP > 0 && topP <= 1) { throw fail("top_p must be within (0, 1]") }
        if !(fuzzyThreshold > 0 && fuzzyThreshold <= 1) { throw fail("fuzzy_threshold must be within (0, 1]") }
        if let limit, limit < 0 { throw fail("limit must be ≥ 0") }
        if overwrite && (resume || retryFailed) {
            throw fail("--overwrite cannot be combined with --resume/--retry-failed")
        }
        if sandboxConcurrency < 1 { throw fail("sandbox_concurrency must be ≥ 1") }
        if !(sandbox.wallSeconds > 0) || sandbox.cpuSeconds < 1 || sandbox.memoryMB < 16 || sandbox.fileSizeMB < 1
            || sandbox.diskMB < 1 || sandbox.processes < 1
        {
            throw fail("sandbox limits must be positive (memory_mb ≥ 16)")
        }
        if sandbox.memoryMB > 1 << 20 || sandbox.fileSizeMB > 1 << 20 || sandbox.diskMB > 1 << 20 {
            throw fail("sandbox memory_mb, file_size_mb and disk_mb must be at most \(1 << 20) (1 TiB)")
        }
        if !(progressInterval > 0) { throw fail("progress_interval must be > 0") }
        if !improvementScore.isFinite { throw fail("improvement_score must be finite") }
        if abortAfter < 0 { throw fail("abort_after must be ≥ 0") }
    }

    /// Settings for the HTTP client.
    public var endpoint: EndpointSettings {
        var settings = EndpointSettings(baseURL: baseURL, model: model, apiKey: apiKey)
        settings.timeoutSeconds = timeout
        settings.maxRetries = maxRetries
        settings.backoff = Backoff(base: backoffBase, cap: backoffCap)
        settings.jsonMode = jsonMode
        settings.connections = concurrency
        return settings
    }
}
