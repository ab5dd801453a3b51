import Foundation
@testable import Chat
@testable import Spans
import Testing
import TestSupport

@testable import Common
@testable import LLMClient
@testable import Tokenizers

/// The HTTP client against a scripted endpoint on 127.0.0.1: retries, timeouts, fallbacks, secrecy.
@Suite("OpenAI-compatible client")
struct ClientTests {
    static let key = "sk-test-secret-0123456789abcdef"
    let request = ChatRequest(messages: [ChatMessage(role: "user", content: "Critique this. JSON please.")])

    func client(_ endpoint: ScriptedEndpoint, configure: (inout EndpointSettings) -> Void = { _ in }) -> OpenAIClient {
        var settings = EndpointSettings(baseURL: endpoint.baseURL, model: "teacher-1", apiKey: Self.key)
        settings.backoff = Backoff(base: 0.01, cap: 0.05)
        settings.timeoutSeconds = 5
        settings.maxRetries = 4
        configure(&settings)
        return OpenAIClient(settings: settings, logger: quietLogger)
    }

    @Test func sendsModelKeyAndJSONModeAndReadsUsage() async throws {
        let endpoint = try await ScriptedEndpoint.start { _ in .content("hello") }
        let client = client(endpoint)
        let reply = try await client.complete(request)
        await client.shutdown()
        await endpoint.stop()
        #expect(reply.content == "hello")
        #expect(reply.usage == TokenUsage(promptTokens: 100, completionTokens: 20))
        #expect(reply.attempts == 1)
        let received = try #require(endpoint.requests.first)
        #expect(received.authorization == "Bearer \(Self.key)")
        #expect(received.body["model"] as? String == "teacher-1")
        #expect(received.hasResponseFormat)
        #expect(received.body["max_tokens"] as? String == "1200")
    }

    @Test func retryAfterIsHonouredOn429() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.attempt == 1
                ? .status(429, body: #"{"error": "slow down"}"#, headers: ["Retry-After": "1"]) : .content("ok")
        }
        let client = client(endpoint)
        let started = Date()
        let reply = try await client.complete(request)
        let elapsed = Date().timeIntervalSince(started)
        await client.shutdown()
        await endpoint.stop()
        #expect(reply.content == "ok")
        #expect(reply.attempts == 2)
        #expect(endpoint.requests.count == 2)
        // The backoff alone would wait ≤ 0.05 s; waiting a full second proves the header was read.
        #expect(elapsed >= 1.0)
    }

    @Test func serverErrorsAreRetriedWithBackoff() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            switch request.attempt {
            case 1: return .status(500, body: "boom")
            case 2: return .status(503, body: "unavailable")
            case 3: return .status(408, body: "timeout")
            default: return .content("third time lucky")
            }
        }
        let client = client(endpoint)
        let reply = try await client.complete(request)
        await client.shutdown()
        await endpoint.stop()
        #expect(reply.content == "third time lucky")
        #expect(reply.attempts == 4)
        #expect(endpoint.requests.count == 4)
    }

    @Test func retriesRunOutWithTheLastStatus() async throws {
        let endpoint = try await ScriptedEndpoint.start { _ in .status(502, body: "bad gateway") }
        let client = client(endpoint) { $0.maxRetries = 2 }
        await #expect(throws: ChatClientError.http(status: 502, body: "bad gateway", attempts: 3)) {
            try await client.complete(request)
        }
        await client.shutdown()
        await endpoint.stop()
        #expect(endpoint.requests.count == 3)
    }

    @Test func otherClientErrorsAndExhaustedQuotaAreNotRetried() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.userText.contains("quota")
                ? .status(429, body: #"{"error": {"code": "insufficient_quota"}}"#)
                : .status(404, body: "no such model")
        }
        let client = client(endpoint)
        await #expect(throws: ChatClientError.http(status: 404, body: "no such model", attempts: 1)) {
            try await client.complete(request)
        }
        let quota = ChatRequest(messages: [ChatMessage(role: "user", content: "quota")])
        do {
            _ = try await client.complete(quota)
            Issue.record("an exhausted quota must fail")
        } catch let error as ChatClientError {
            #expect(error.kind == "http_429")
        }
        await client.shutdown()
        await endpoint.stop()
        #expect(endpoint.requests.count == 2)
    }

    @Test func keyEchoedByTheServerIsRedactedFromErrors() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            .status(401, body: "invalid key: \(request.authorization ?? "")")
        }
        let client = client(endpoint)
        do {
            _ = try await client.complete(request)
            Issue.record("a 401 must fail")
        } catch {
            #expect(!"\(error)".contains(Self.key))
            #expect("\(error)".contains("[redacted]"))
            #expect("\(error)".contains("401"))
        }
        await client.shutdown()
        await endpoint.stop()
    }

    @Test func rejectedResponseFormatFallsBackOnceForGood() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.hasResponseFormat
                ? .status(400, body: #"{"error": "response_format is not supported by this model"}"#)
                : .content("plain")
        }
        let client = client(endpoint)
        let first = try await client.complete(request)
        let second = try await client.complete(request)
        await client.shutdown()
        await endpoint.stop()
        #expect(first.content == "plain" && second.content == "plain")
        #expect(first.attempts == 1)
        #expect(endpoint.requests.map(\.hasResponseFormat) == [true, false, false])
        #expect(!client.jsonMode)
    }

    @Test func switchesToMaxCompletionTokensWhenAsked() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.body["max_tokens"] != nil
                ? .status(400, body: #"{"error": {"message": "Unsupported parameter: 'max_tokens'. Use "#
                    + #"'max_completion_tokens' instead."}}"#)
                : .content("ok")
        }
        let client = client(endpoint)
        _ = try await client.complete(request)
        _ = try await client.complete(request)
        await client.shutdown()
        await endpoint.stop()
        #expect(endpoint.requests.map { $0.body["max_tokens"] != nil } == [true, false, false])
        #expect(endpoint.requests.last?.body["max_completion_tokens"] as? String == "1200")
    }

    @Test func slowAnswerTimesOutAndIsRetried() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.attempt == 1 ? .content("late", delay: 3) : .content("on time")
        }
        let client = client(endpoint) { $0.timeoutSeconds = 0.5 }
        let started = Date()
        let reply = try await client.complete(request)
        let elapsed = Date().timeIntervalSince(started)
        await client.shutdown()
        await endpoint.stop()
        #expect(reply.content == "on time")
        #expect(reply.attempts == 2)
        #expect(elapsed < 2.5)
    }

    @Test func timeoutOnEveryAttemptIsATimeoutError() async throws {
        let endpoint = try await ScriptedEndpoint.start { _ in .content("late", delay: 2) }
        let client = client(endpoint) { settings in
            settings.timeoutSeconds = 0.3
            settings.maxRetries = 1
        }
        await #expect(throws: ChatClientError.timeout(seconds: 0.3, attempts: 2)) {
            try await client.complete(request)
        }
        await client.shutdown()
        await endpoint.stop()
    }

    @Test func droppedConnectionsAreRetried() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.attempt <= 2 ? .drop : .content("survived")
        }
        let client = client(endpoint)
        let reply = try await client.complete(request)
        await client.shutdown()
        await endpoint.stop()
        #expect(reply.content == "survived")
        #expect(reply.attempts == 3)
    }

    @Test func refusedConnectionBecomesANetworkError() async throws {
        // Start and stop an endpoint to get a loopback port that nothing listens on.
        let endpoint = try await ScriptedEndpoint.start { _ in .content("x") }
        await endpoint.stop()
        let client = client(endpoint) { $0.maxRetries = 1 }
        let started = Date()
        do {
            _ = try await client.complete(request)
            Issue.record("a closed port must fail")
        } catch let error as ChatClientError {
            #expect(error.kind == "network")
        }
        // Refused at once on loopback: no waiting out the 5 s request timeout.
        #expect(Date().timeIntervalSince(started) < 4)
        await client.shutdown()
    }

    @Test func nonCompletionBodyIsRetriedThenReported() async throws {
        let endpoint = try await ScriptedEndpoint.start { request in
            request.attempt == 1 ? .rawBody("<html>proxy error</html>") : .rawBody(#"{"unexpected": true}"#)
        }
        let client = client(endpoint) { $0.maxRetries = 1 }
        do {
            _ = try await client.complete(request)
            Issue.record("a non-completion body must fail")
        } catch let error as ChatClientError {
            #expect(error.kind == "bad_response")
        }
        await client.shutdown()
        await endpoint.stop()
        #expect(endpoint.requests.count == 2)
    }
}
