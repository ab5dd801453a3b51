import Foundation
import Generation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Tokenizers

/// How `serve` listens and what it accepts. Defaults are the CLI's.
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// The port (0: any free port, reported through `onRunning`).
    public var port = 8080
    /// The model id clients name in `model` (requests naming another get 404).
    public var modelName: String
    /// When set, every `/v1` request needs `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// Larger bodies get 413.
    public var maxBodyBytes = 1 << 20
    /// `max_tokens` when a request gives none (capped by the context).
    public var defaultMaxTokens = 256
    /// Seconds a connection may go without sending a complete request head, counted from when it opened or
    /// from its last response, before it is closed: slow-header (slowloris) and idle keep-alive sockets.
    public var idleTimeout = 10.0
    /// Connections open at once; further ones wait in the listen backlog until one closes.
    public var maxConnections = 256

    public init(modelName: String) { self.modelName = modelName }
}

/// The OpenAI-compatible HTTP API over a `GenerationService`: `GET /v1/models`, `POST /v1/chat/completions`,
/// `POST /v1/completions`, with server-sent events when `stream` is true.
public struct OpenAIServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    let service: any GenerationService
    /// Read-only after loading, so sharing it between request handlers is safe.
    let tokenizer: Tokenizer
    let contextLength: Int
    let vocabSize: Int
    let logger: Logger

    /// A server answering for `service`; prompts are tokenised with `tokenizer` up to `contextLength` tokens,
    /// and token-id prompts must lie in `vocabSize`.
    public init(configuration: ServerConfiguration, service: any GenerationService, tokenizer: Tokenizer, contextLength: Int,
                vocabSize: Int, logger: Logger = Logger(label: "text2grad.serve")) {
        self.configuration = configuration
        self.service = service
        self.tokenizer = tokenizer
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` receives the bound port.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(apiKey: configuration.apiKey))
        let server = self
        router.get("/v1/models") { _, _ in server.json(200, server.modelList) }
        router.get("/v1/models/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == server.configuration.modelName else { throw APIError.unknownModel(id, served: server.configuration.modelName) }
            return server.json(200, server.modelObject)
        }
        router.post("/v1/chat/completions") { request, _ in try await server.completion(request, kind: .chat) }
        router.post("/v1/completions") { request, _ in try await server.completion(request, kind: .text) }
        return Application(
            router: router,
            server: .guardedHTTP1(idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "text2grad",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? -1) },
            logger: logger)
    }

    var modelObject: [String: Any] {
        ["id": configuration.modelName, "object": "model", "created": 0, "owned_by": "text2grad"]
    }

    var modelList: [String: Any] { ["object": "list", "data": [modelObject]] }

    func json(_ status: Int, _ object: [String: Any]) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(data: jsonData(object))))
    }

    /// Reads the body (413 past the limit), parses it (400), queues it (503) and answers whole or streamed.
    func completion(_ request: Request, kind: OpenAIRequest.Kind) async throws -> Response {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.tooLarge(limit: limit) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: limit)
        }
        let parsed = try await Self.prepare { [self] in
            try OpenAIRequest(body: Data(buffer: body), kind: kind, tokenizer: tokenizer, vocabSize: vocabSize,
                              contextLength: contextLength, defaultMaxTokens: configuration.defaultMaxTokens)
        }
        if let model = parsed.model, model != configuration.modelName {
            throw APIError.unknownModel(model, served: configuration.modelName)
        }
        let submission = try Self.submit(parsed.generationRequests, to: service)
        let response = OpenAIResponse(kind: kind, model: configuration.modelName, tokenizer: tokenizer)
        let promptTokens = parsed.prompts.reduce(0) { $0 + $1.count }
        if parsed.stream { return stream(submission, parsed: parsed, response: response, promptTokens: promptTokens) }

        var results = [GeneratedSequence?](repeating: nil, count: parsed.generationRequests.count)
        for await event in submission.events {
            switch event {
            case .token: break
            case let .finished(index, result): results[index] = result
            case let .failed(message): throw APIError.internalError(message)
            }
        }
        guard results.allSatisfy({ $0 != nil }) else { throw APIError.internalError("generation stopped early") }
        return json(200, response.complete(results.map { $0! }, logprobs: parsed.logprobs, promptTokens: promptTokens))
    }

    /// Parsing, tokenising and rendering the chat template run on threads of their own: a slow template (bounded
    /// by its `TemplateLimits`, but still up to about a second) must never hold the cooperative threads that
    /// answer every other request, `/v1/models` included. Not a concurrent DispatchQueue: on Linux it draws on the
    /// same few worker threads (as many as cores) as Swift concurrency's executor, so sixteen slow templates there
    /// left the server without an answer to anything for seconds.
    static let preparation = WorkerThreads(
        count: max(2, ProcessInfo.processInfo.activeProcessorCount), name: "serve.prepare")

    static func prepare<T>(_ work: @escaping () throws -> T) async throws -> T {
        let box = UncheckedBox(work)
        let result: UncheckedBox<T> = try await withCheckedThrowingContinuation { continuation in
            preparation.run { continuation.resume(with: Result { UncheckedBox(try box.value()) }) }
        }
        return result.value
    }

    /// Server-sent events: one chunk per token (or per piece of final text), a chunk with `finish_reason` per
    /// choice, the usage chunk when asked for, then `data: [DONE]`. A failed write (the client left) cancels
    /// the request's sequences.
    /// Queues `requests`, a refusal answered as the API's error (503 when retrying can help, else 400).
    static func submit(_ requests: [GenerationRequest], to service: any GenerationService) throws -> Submission {
        do {
            return try service.submit(requests)
        } catch let error as SchedulerError {
            throw APIError(error)
        }
    }

    func stream(_ submission: Submission, parsed: OpenAIRequest, response: OpenAIResponse, promptTokens: Int) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        let logger = logger
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            func send(_ object: [String: Any]) async throws {
                var object = object
                // With include_usage every chunk carries `usage`, null until the last one.
                if parsed.includeUsage && object["usage"] == nil && object["error"] == nil { object["usage"] = NSNull() }
                var buffer = ByteBuffer(string: "data: ")
                buffer.writeBytes(jsonData(object))
                buffer.writeString("\n\n")
                try await writer.write(buffer)
            }
            var completionTokens = 0
            do {
                if parsed.kind == .chat {
                    for index in 0..<parsed.generationRequests.count { try await send(response.chunk(index: index, text: "", role: true)) }
                }
                for await event in submission.events {
                    switch event {
                    case let .token(index, token):
                        completionTokens += 1
                        let lp = parsed.logprobs ? response.logprobs([token.token], top: [token.top]) : nil
                        if !token.text.isEmpty || lp != nil {
                            try await send(response.chunk(index: index, text: token.text, logprobs: lp))
                        }
                    case let .finished(index, result):
                        try await send(response.chunk(index: index, text: parsed.kind == .chat ? nil : "", finish: result.finishReason))
                    case let .failed(message):
                        try await send(APIError.internalError(message).body)
                    }
                }
                if parsed.includeUsage { try await send(response.usageChunk(prompt: promptTokens, completion: completionTokens)) }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            } catch {
                submission.cancel()
                logger.info("stream ended early: \(error)")
                throw error
            }
        })
    }
}

/// Turns thrown errors into OpenAI-shaped JSON: `APIError` as is, Hummingbird's 404 and 413 translated.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error)
        } catch let error as HTTPError where error.status == .notFound {
            return Self.response(.notFound(request.uri.path))
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return Self.response(.tooLarge(limit: 0))
        }
    }

    static func response(_ error: APIError) -> Response {
        Response(status: .init(code: error.status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(data: jsonData(error.body))))
    }
}

/// Checks `Authorization: Bearer <key>` in constant time; the key never reaches a log or a response.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]?

    init(apiKey: String?) { key = apiKey.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        guard constantTimeEqual(given, key) else { throw APIError.unauthorized }
        return try await next(request, context)
    }
}

/// Equality whose time depends only on the lengths, not on where the bytes first differ. The length difference
/// is kept whole (folding it into one byte made a key followed by 256 NULs compare equal).
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt(bitPattern: a.count ^ b.count)
    for i in 0..<max(a.count, b.count) {
        difference |= UInt((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0))
    }
    return difference == 0
}

/// Carries a value the compiler cannot prove sendable across the hop to the preparation queue; each is used by
/// one side at a time (the closure runs once, and its result is read after it finished).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A fixed set of threads of its own taking jobs in order, for work that may hold a thread for a while.
final class WorkerThreads: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var next = 0

    init(count: Int, name: String) {
        for i in 0..<count {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    /// Queues `job` for the next free thread.
    func run(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            if next == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            job()
        }
    }
}
