import Foundation

/// An OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama, `text2grad serve`) and how to ask it:
/// the teacher of `annotate`, the judge of `eval judge`.
public struct EndpointSettings: SettingsGroup {
    /// Base URL up to and including `/v1`; `/chat/completions` is appended.
    public var baseURL = "https://api.openai.com/v1"
    /// Model name sent with each request.
    public var model = "gpt-4o-mini"
    /// Bearer token, from `OPENAI_API_KEY` or `--api-key`: never a YAML key, never saved, logged or echoed.
    public var apiKey: String?
    /// Requests in flight at once (and connections kept per host, so none queue in the pool).
    public var concurrency = 8
    /// Retries after the first attempt, on connection errors, 408/409/429 and 5xx.
    public var maxRetries = 6
    /// Per-attempt timeout in seconds.
    public var timeoutSeconds = 120.0
    /// First and largest backoff delay between attempts, in seconds (jittered; `Retry-After` is honoured).
    public var backoffBase = 0.5
    public var backoffCap = 30.0
    /// Ask for `response_format: json_object`; dropped for good if the server rejects it.
    public var jsonMode = true

    /// The keys of a configuration file; the key is not one of them.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case baseURL = "base_url", model, concurrency, maxRetries = "max_retries", timeoutSeconds = "timeout"
        case backoffBase = "backoff_base", backoffCap = "backoff_cap", jsonMode = "json_mode"
    }

    /// The defaults: OpenAI's API.
    public init() {}

    /// The defaults, then the environment's endpoint and key (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
    public init(environment: [String: String]) {
        if let url = environment["OPENAI_BASE_URL"], !url.isEmpty { baseURL = url }
        if let key = environment["OPENAI_API_KEY"], !key.isEmpty { apiKey = key }
    }

    /// An endpoint at `baseURL` asked for `model`.
    public init(baseURL: String, model: String, apiKey: String?) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
    }

    /// The settings as saved: no key, no credentials in the URL.
    public var saved: EndpointSettings {
        var copy = self
        copy.apiKey = nil
        copy.baseURL = publicURL(baseURL)
        return copy
    }

    public func validate(_ fail: (String) -> Error) throws {
        if model.isEmpty { throw fail("'model' is empty") }
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else { throw fail("'base_url' '\(publicURL(baseURL))' is not an http(s) URL") }
        if concurrency < 1 || concurrency > 1024 { throw fail("'concurrency' must be 1...1024, got \(concurrency)") }
        if maxRetries < 0 { throw fail("'max_retries' must be ≥ 0") }
        if !(timeoutSeconds > 0) { throw fail("'timeout' must be > 0 seconds") }
        if !(backoffBase >= 0) || !(backoffCap >= backoffBase) { throw fail("need 0 ≤ backoff_base ≤ backoff_cap") }
    }
}
