import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A request as the scripted endpoint received it.
public struct ReceivedRequest: Sendable {
    /// The `Authorization` header, if any.
    public var authorization: String?
    /// The decoded JSON body.
    public var body: [String: any Sendable]
    /// 1-based count of requests with the same first user message and the same number of turns.
    public var attempt: Int

    public var messages: [[String: String]] {
        (body["messages"] as? [[String: String]]) ?? []
    }

    /// The first user turn: the item's prompt as the annotator built it.
    public var userText: String {
        messages.first { $0["role"] == "user" }?["content"] ?? ""
    }

    /// True when this is the follow-up after an unparseable answer.
    public var isReask: Bool { messages.count > 2 }

    public var hasResponseFormat: Bool { body["response_format"] != nil }
}

/// What the endpoint does with one request.
public enum ScriptedReply: Sendable {
    /// A 200 chat completion whose message content is `content`.
    case content(String, delay: Double = 0)
    /// Any status with a raw body and extra headers.
    case status(Int, body: String, headers: [String: String] = [:], delay: Double = 0)
    /// Close the connection without answering.
    case drop
    /// A 200 whose body is not a chat completion.
    case rawBody(String)
}

/// Request context that keeps the channel, so a script can drop the connection.
struct ChannelContext: RequestContext {
    typealias Source = ApplicationRequestContextSource
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// An OpenAI-compatible `/v1/chat/completions` endpoint on 127.0.0.1 that answers from a script.
// Unchecked Sendable: its records and counts are read and written under its lock.
public final class ScriptedEndpoint: @unchecked Sendable {
    public typealias Script = @Sendable (ReceivedRequest) async -> ScriptedReply

    private let lock = NSLock()
    private var received: [ReceivedRequest] = []
    private var attempts: [String: Int] = [:]
    private var inFlight = 0
    private var peakInFlight = 0
    private let task: Task<Void, Error>
    public let port: Int

    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// The most requests that were being answered at the same moment.
    public var maxConcurrentRequests: Int {
        lock.withLock { peakInFlight }
    }

    fileprivate func enter() {
        lock.withLock {
            inFlight += 1
            peakInFlight = max(peakInFlight, inFlight)
        }
    }

    fileprivate func leave() {
        lock.withLock { inFlight -= 1 }
    }

    /// Every request so far, in arrival order.
    public var requests: [ReceivedRequest] {
        lock.withLock { received }
    }

    private init(task: Task<Void, Error>, port: Int, box: EndpointBox) {
        self.task = task
        self.port = port
        box.endpoint = self
    }

    /// Starts the server on a free loopback port and waits until it accepts connections.
    public static func start(_ script: @escaping Script) async throws -> ScriptedEndpoint {
        let box = EndpointBox()
        let portBox = PortBox()
        let router = Router(context: ChannelContext.self)
        router.post("/v1/chat/completions") { request, context -> Response in
            let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
            guard let endpoint = box.endpoint else { return Response(status: .serviceUnavailable) }
            endpoint.enter()
            defer { endpoint.leave() }
            let received = endpoint.record(object, authorization: request.headers[.authorization])
            let reply = await script(received)
            return try await respond(reply, context: context)
        }
        var logger = Logger(label: "scripted-endpoint")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portBox.set(channel.localAddress?.port ?? -1) }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for _ in 0..<1000 {
            if let bound = portBox.get() {
                port = bound
                break
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        guard port > 0 else {
            task.cancel()
            throw EndpointError(description: "the scripted endpoint did not start within 10 s")
        }
        return ScriptedEndpoint(task: task, port: port, box: box)
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    private func record(_ object: [String: Any], authorization: String?) -> ReceivedRequest {
        lock.withLock {
            let messages = (object["messages"] as? [[String: Any]]) ?? []
            let first = messages.first { $0["role"] as? String == "user" }?["content"] as? String ?? ""
            let key = "\(messages.count)|\(first)"
            attempts[key, default: 0] += 1
            var body: [String: any Sendable] = [:]
            body["messages"] = messages.map { $0.compactMapValues { $0 as? String } }
            if let format = object["response_format"] as? [String: Any] {
                body["response_format"] = format.compactMapValues { $0 as? String }
            }
            for key in ["model", "temperature", "max_tokens", "max_completion_tokens", "top_p"] {
                if let value = object[key] { body[key] = "\(value)" }
            }
            let request = ReceivedRequest(authorization: authorization, body: body, attempt: attempts[key]!)
            received.append(request)
            return request
        }
    }
}

private func respond(_ reply: ScriptedReply, context: ChannelContext) async throws -> Response {
    switch reply {
    case let .content(content, delay):
        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
        return json(200, completion(content), [:])
    case let .status(code, body, headers, delay):
        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
        return json(code, body, headers)
    case .drop:
        try await context.channel.close()
        return Response(status: .ok)
    case let .rawBody(body):
        return json(200, body, [:])
    }
}

private func json(_ status: Int, _ body: String, _ headers: [String: String]) -> Response {
    var fields = HTTPFields()
    fields[.contentType] = "application/json"
    for (name, value) in headers {
        if let field = HTTPField.Name(name) { fields[field] = value }
    }
    return Response(
        status: .init(code: status), headers: fields,
        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
}

/// A chat-completion envelope around `content`, with fixed usage figures tests can sum.
public func completion(_ content: String, promptTokens: Int = 100, completionTokens: Int = 20) -> String {
    let object: [String: Any] = [
        "id": "chatcmpl-test", "object": "chat.completion", "model": "scripted",
        "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
        "usage": [
            "prompt_tokens": promptTokens, "completion_tokens": completionTokens,
            "total_tokens": promptTokens + completionTokens,
        ],
    ]
    let data = try! JSONSerialization.data(withJSONObject: object)
    return String(decoding: data, as: UTF8.self)
}

/// A teacher answer as JSON text.
public func critique(
    _ feedback: String, good: [String] = [], poor: [String] = [], keys: (String, String)? = nil
) -> String {
    let (goodKey, poorKey) = keys ?? ("good_spans", "poor_spans")
    let object: [String: Any] = ["textual_feedback": feedback, goodKey: good, poorKey: poor]
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

public struct EndpointError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

// Unchecked Sendable: written once, in the endpoint's init, before the server it is shared with starts.
private final class EndpointBox: @unchecked Sendable {
    weak var endpoint: ScriptedEndpoint?
}

// Unchecked Sendable: its port is read and written under its lock.
private final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?

    func set(_ value: Int) { lock.withLock { port = value } }
    func get() -> Int? { lock.withLock { port } }
}
