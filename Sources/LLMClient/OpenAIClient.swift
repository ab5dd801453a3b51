import Chat
import Common
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Spans
import Tokenizers

/// A chat-completions client for any OpenAI-compatible endpoint, over AsyncHTTPClient.
///
/// Retry policy per request:
/// 1. connection errors, timeouts, unusable 2xx bodies and 408/409/429/5xx are retried up to
///    `maxRetries` times with `Backoff`, honouring `retry-after-ms` / `Retry-After`;
/// 2. a 429 whose body says `insufficient_quota` and every other 4xx fail at once;
/// 3. a 400 that mentions `response_format` turns JSON mode off for the rest of the run and
///    repeats the request without counting an attempt; a 400 asking for `max_completion_tokens`
///    (newer OpenAI models) switches the token-limit field the same way.
// Unchecked Sendable: its mode flags are guarded by `stateLock`; HTTPClient is thread-safe.
public final class OpenAIClient: ChatCompleting, @unchecked Sendable {
    private let settings: EndpointSettings
    private let http: HTTPClient
    private let logger: Logger
    private let stateLock = NSLock()
    private var jsonModeAccepted: Bool
    private var useMaxCompletionTokens = false

    /// Creates a client with its own connection pool; call `shutdown()` when done.
    public init(settings: EndpointSettings, logger: Logger = Logger(label: "text2grad.feedback.client")) {
        self.settings = settings
        self.logger = logger
        jsonModeAccepted = settings.jsonMode
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.concurrency))
        configuration.timeout = .init(connect: .seconds(10))
        // Our own retry loop (with backoff and a failure record) handles refused connections; the
        // pool's internal re-dialing would otherwise hold each request until its timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connection pool.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Whether requests still carry `response_format` (false once the server rejected it).
    public var jsonMode: Bool {
        stateLock.withLock { jsonModeAccepted }
    }

    public func complete(_ request: ChatRequest) async throws -> ChatReply {
        var attempt = 0
        while true {
            attempt += 1
            let started = Date()
            let (json, newLimitField) = stateLock.withLock { (jsonModeAccepted, useMaxCompletionTokens) }
            let outcome = await send(request, jsonMode: json, maxCompletionTokens: newLimitField)
            let failure: ChatClientError
            let retryAfter: Double?
            switch outcome {
            case let .success(content, usage):
                let latency = Int(Date().timeIntervalSince(started) * 1000)
                return ChatReply(content: content, usage: usage, latencyMilliseconds: latency, attempts: attempt)
            case .rejectedJSONMode:
                stateLock.withLock { jsonModeAccepted = false }
                logger.warning("the endpoint rejected response_format; continuing without JSON mode")
                attempt -= 1
                continue
            case .wantsMaxCompletionTokens:
                stateLock.withLock { useMaxCompletionTokens = true }
                logger.notice("the endpoint wants max_completion_tokens instead of max_tokens; switching")
                attempt -= 1
                continue
            case let .fatal(error):
                throw error.with(attempts: attempt)
            case let .retryable(error, hint):
                failure = error
                retryAfter = hint
            }
            if Task.isCancelled { throw CancellationError() }
            guard attempt <= settings.maxRetries else { throw failure.with(attempts: attempt) }
            let delay = settings.backoff.delay(retry: attempt, retryAfter: retryAfter)
            logger.warning(
                "request failed; retrying",
                metadata: [
                    "error": "\(failure.kind)", "attempt": "\(attempt)",
                    "delay_s": "\(String(format: "%.2f", delay))",
                ])
            try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        }
    }

    private enum Outcome {
        case success(String, TokenUsage)
        case retryable(ChatClientError, retryAfter: Double?)
        case fatal(ChatClientError)
        case rejectedJSONMode
        case wantsMaxCompletionTokens
    }

    /// One attempt; classifies every way it can end.
    private func send(_ chat: ChatRequest, jsonMode: Bool, maxCompletionTokens: Bool) async -> Outcome {
        var request = HTTPClientRequest(url: endpointURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let key = settings.apiKey, !key.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        let body = RequestBody(
            model: settings.model, messages: chat.messages, temperature: chat.temperature, topP: chat.topP,
            maxTokens: maxCompletionTokens ? nil : chat.maxTokens,
            maxCompletionTokens: maxCompletionTokens ? chat.maxTokens : nil,
            responseFormat: jsonMode ? .init(type: "json_object") : nil)
        do {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        } catch {
            return .fatal(.badResponse(detail: "cannot encode the request: \(error)", attempts: 1))
        }
        let timeout = settings.timeoutSeconds
        let status: Int
        let headers: HTTPHeaders
        let bytes: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            status = Int(response.status.code)
            headers = response.headers
            bytes = try await response.body.collect(upTo: 32 * 1024 * 1024)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .retryable(.timeout(seconds: timeout, attempts: 1), retryAfter: nil)
        } catch is CancellationError {
            return .fatal(.transport(detail: "cancelled", attempts: 1))
        } catch {
            return .retryable(.transport(detail: clean("\(error)"), attempts: 1), retryAfter: nil)
        }
        let text = String(buffer: bytes)
        if (200..<300).contains(status) {
            do {
                let decoded = try JSONDecoder().decode(ResponseBody.self, from: Data(text.utf8))
                guard let choice = decoded.choices.first else {
                    return .retryable(.badResponse(detail: "no choices in the response", attempts: 1), retryAfter: nil)
                }
                // An answer may echo the key (verbatim or escaped); redacted here, before it is nested in records
                // as JSON (a `raw` field holds the answer's own JSON), where escapes pile up beyond what a
                // line-level redaction recognises.
                let content = redact(choice.message.content ?? "", secret: settings.apiKey)
                return .success(content, decoded.usage ?? TokenUsage())
            } catch {
                let detail = "not a chat completion: " + snippet(text, 300)
                return .retryable(.badResponse(detail: detail, attempts: 1), retryAfter: nil)
            }
        }
        let excerpt = snippet(text, 500)
        if status == 400, jsonMode, text.contains("response_format") { return .rejectedJSONMode }
        if status == 400, !maxCompletionTokens, text.contains("max_completion_tokens") {
            return .wantsMaxCompletionTokens
        }
        let error = ChatClientError.http(status: status, body: excerpt, attempts: 1)
        let retryable = [408, 409, 429].contains(status) || status >= 500
        guard retryable, !(status == 429 && text.contains("insufficient_quota")) else { return .fatal(error) }
        let hint = Backoff.retryAfter(
            milliseconds: headers.first(name: "retry-after-ms"),
            header: headers.first(name: "retry-after"))
        return .retryable(error, retryAfter: hint)
    }

    private var endpointURL: String {
        var base = settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }

    /// Redacts the key and flattens newlines so error text is one safe line.
    private func clean(_ text: String) -> String {
        redact(text, secret: settings.apiKey).replacingOccurrences(of: "\n", with: " ")
    }

    /// The first `length` characters of a response body, cleaned. Redaction comes before the cut: cutting first
    /// would leave the head of a key that straddles the cut unredacted. Only the first 64 KB are scanned (far
    /// more than the snippet plus any escaped form of a key), so a huge error page costs little.
    private func snippet(_ text: String, _ length: Int) -> String {
        String(clean(String(text.prefix(max(length, 65536)))).prefix(length))
    }

    private struct RequestBody: Encodable {
        var model: String
        var messages: [ChatMessage]
        var temperature: Double
        var topP: Double?
        var maxTokens: Int?
        var maxCompletionTokens: Int?
        var responseFormat: ResponseFormat?

        struct ResponseFormat: Encodable {
            var type: String
        }

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature
            case topP = "top_p"
            case maxTokens = "max_tokens"
            case maxCompletionTokens = "max_completion_tokens"
            case responseFormat = "response_format"
        }
    }

    private struct ResponseBody: Decodable {
        var choices: [Choice]
        var usage: TokenUsage?

        struct Choice: Decodable {
            var message: Message
        }

        struct Message: Decodable {
            var content: String?
        }
    }
}
