import Common
import Foundation
import Spans
import Tokenizers

/// One chat-completion request.
public struct ChatRequest: Sendable, Equatable {
    /// The conversation.
    public var messages: [ChatMessage]
    /// Sampling temperature.
    public var temperature: Double
    /// Nucleus sampling; omitted from the request when nil.
    public var topP: Double?
    /// Completion token limit.
    public var maxTokens: Int

    /// Creates a request.
    public init(messages: [ChatMessage], temperature: Double = 0.3, topP: Double? = nil, maxTokens: Int = 1200) {
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
    }
}

/// The answer to a request.
public struct ChatReply: Sendable, Equatable {
    /// The assistant message's text (empty if the endpoint sent none).
    public var content: String
    /// Tokens used by the successful attempt.
    public var usage: TokenUsage
    /// Wall time of the successful attempt, in milliseconds.
    public var latencyMilliseconds: Int
    /// Attempts made, including the successful one.
    public var attempts: Int

    /// A reply with every field.
    public init(content: String, usage: TokenUsage, latencyMilliseconds: Int, attempts: Int) {
        self.content = content
        self.usage = usage
        self.latencyMilliseconds = latencyMilliseconds
        self.attempts = attempts
    }
}

/// Anything that answers chat requests; the annotator depends on this, tests and servers supply it.
public protocol ChatCompleting: Sendable {
    /// Sends `request`, retrying as the implementation sees fit; throws `ChatClientError`.
    func complete(_ request: ChatRequest) async throws -> ChatReply
}

/// Why a request finally failed; the body text is redacted and clipped.
public enum ChatClientError: Error, Equatable, CustomStringConvertible {
    /// The endpoint answered with a status that is not retried, or retries ran out on one that is.
    case http(status: Int, body: String, attempts: Int)
    /// Connection refused, reset or dropped, on every attempt.
    case transport(detail: String, attempts: Int)
    /// No answer within the per-request timeout, on every attempt.
    case timeout(seconds: Double, attempts: Int)
    /// A 2xx answer that is not a chat completion, on every attempt.
    case badResponse(detail: String, attempts: Int)

    public var description: String {
        switch self {
        case let .http(status, body, attempts):
            return "HTTP \(status) after \(attempts) attempt(s): \(body)"
        case let .transport(detail, attempts):
            return "connection failed after \(attempts) attempt(s): \(detail)"
        case let .timeout(seconds, attempts):
            return "no answer within \(seconds) s after \(attempts) attempt(s); raise --timeout if the model is slow"
        case let .badResponse(detail, attempts):
            return "unusable response after \(attempts) attempt(s): \(detail)"
        }
    }

    /// The same error with the final attempt count.
    package func with(attempts: Int) -> ChatClientError {
        switch self {
        case let .http(status, body, _): return .http(status: status, body: body, attempts: attempts)
        case let .transport(detail, _): return .transport(detail: detail, attempts: attempts)
        case let .timeout(seconds, _): return .timeout(seconds: seconds, attempts: attempts)
        case let .badResponse(detail, _): return .badResponse(detail: detail, attempts: attempts)
        }
    }

    /// A short kind for failure files and the summary: `http_4xx`, `http_429`, `http_5xx`, `network`, …
    public var kind: String {
        switch self {
        case let .http(status, _, _):
            return status == 429 ? "http_429" : (status >= 500 ? "http_5xx" : "http_4xx")
        case .transport: return "network"
        case .timeout: return "timeout"
        case .badResponse: return "bad_response"
        }
    }
}

extension EndpointSettings {
    /// The backoff policy between attempts (`backoff_base`, `backoff_cap`).
    public var backoff: Backoff {
        get { Backoff(base: backoffBase, cap: backoffCap) }
        set { (backoffBase, backoffCap) = (newValue.base, newValue.cap) }
    }
}

/// Capped exponential backoff with jitter, deferring to the server's `Retry-After`.
public struct Backoff: Sendable, Equatable {
    /// Delay before the first retry, in seconds.
    public var base: Double = 0.5
    /// Largest computed delay, in seconds.
    public var cap: Double = 30
    /// Largest `Retry-After` honoured, in seconds; a longer one is clipped to this.
    public var retryAfterCap: Double = 120

    /// The defaults above.
    public init() {}

    /// Creates a policy.
    public init(base: Double, cap: Double, retryAfterCap: Double = 120) {
        self.base = base
        self.cap = cap
        self.retryAfterCap = retryAfterCap
    }

    /// Seconds to wait before retry number `retry` (1-based).
    ///
    /// Without a server hint: `min(cap, base · 2^(retry−1))`, scaled by a random factor in [0.5, 1]
    /// so that many clients throttled together do not retry in lockstep. With a hint: the hint
    /// (clipped to `retryAfterCap`) plus up to 10% jitter, never less than the hint.
    public func delay(retry: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1)) -> Double {
        if let retryAfter {
            let hint = min(max(retryAfter, 0), retryAfterCap)
            return hint + hint * 0.1 * random
        }
        let exponential = min(cap, base * pow(2, Double(max(retry - 1, 0))))
        return exponential * (0.5 + 0.5 * random)
    }

    /// Reads `retry-after-ms` (OpenAI) or `Retry-After` as seconds or an HTTP date.
    public static func retryAfter(milliseconds: String?, header: String?, now: Date = Date()) -> Double? {
        if let milliseconds, let value = Double(milliseconds.trimmingCharacters(in: .whitespaces)), value >= 0 {
            return value / 1000
        }
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        if let seconds = Double(header), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: header) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
