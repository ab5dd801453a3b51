import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import JSON
import Logging
import NIOCore

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

/// The OpenAI-compatible HTTP API over a `CompletionBackend`: `GET /v1/models`, `GET /v1/models/:id`, and the
/// completion endpoints the backend answers (`POST /v1/chat/completions`, `POST /v1/completions`), whole or as
/// server-sent events when `stream` is true.
///
/// Request handling, in order, the same for every backend:
/// 1. the connection guards: HTTP/1 with an HTTP/1.0 guard, the idle timeout, at most `maxConnections` at once;
/// 2. the key (401), then the route (404 for a path or method not served);
/// 3. the body, read up to `maxBodyBytes` (413), parsed once and checked into an `OpenAIRequest` (400) on the
///    preparation threads;
/// 4. the `model` field (404 when it names another model);
/// 5. the backend's answer, sent whole or as `data:` events ending with `data: [DONE]`; a client that leaves
///    mid-stream cancels the work behind it.
public struct OpenAIServer: Sendable {
    public let configuration: ServerConfiguration
    /// What answers the completion endpoints.
    public let backend: any CompletionBackend
    let logger: Logger

    /// A server answering with `backend`.
    public init(configuration: ServerConfiguration, backend: any CompletionBackend,
                logger: Logger = Logger(label: "text2grad.serve")) {
        self.configuration = configuration
        self.backend = backend
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` receives the bound port.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(apiKey: configuration.apiKey))
        let server = self
        let name = configuration.modelName
        let model: JSONValue = ["id": JSONValue(name), "object": "model", "created": 0, "owned_by": "text2grad"]
        router.get("/v1/models") { _, _ in Self.json(200, ["object": "list", "data": [model]]) }
        router.get("/v1/models/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == name else { throw APIError.unknownModel(id, served: name) }
            return Self.json(200, model)
        }
        let paths: [(OpenAIRequest.Kind, RouterPath)] = [(.chat, "/v1/chat/completions"), (.text, "/v1/completions")]
        for (kind, path) in paths where backend.kinds.contains(kind) {
            router.post(path) { request, _ in try await server.completion(request, kind: kind) }
        }
        return Application(
            router: router,
            server: .guardedHTTP1(idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "text2grad",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? -1) },
            logger: logger)
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    /// Steps 3–5 of the type's rules.
    func completion(_ request: Request, kind: OpenAIRequest.Kind) async throws -> Response {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.tooLarge(limit: limit)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: limit)
        }
        let bytes = Array(body.readableBytesView)
        let parsed = try await WorkerThreads.prepare { try OpenAIRequest(body: bytes, kind: kind) }
        if let model = parsed.model, model != configuration.modelName {
            throw APIError.unknownModel(model, served: configuration.modelName)
        }
        switch try await backend.answer(parsed, configuration: configuration) {
        case .whole(let value): return Self.json(200, value)
        case .stream(let chunks): return events(chunks)
        }
    }

    /// Server-sent events: each chunk as `data: <json>` and a blank line, then `data: [DONE]`. A failed write (the
    /// client left) cancels the work behind the chunks.
    func events(_ chunks: ChunkStream) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        let logger = logger
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                try await chunks.produce { chunk in
                    try await writer.write(ByteBuffer(string: "data: " + chunk.serialized() + "\n\n"))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            } catch {
                chunks.cancel()
                logger.info("stream ended early: \(error)")
                throw error
            }
        })
    }
}

/// Turns thrown errors into OpenAI-shaped JSON: `APIError` as is, Hummingbird's 404 and 413 translated.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
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

    static func response(_ error: APIError) -> Response { OpenAIServer.json(error.status, error.body) }
}

/// Checks `Authorization: Bearer <key>` in constant time; the key never reaches a log or a response.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]?

    init(apiKey: String?) { key = apiKey.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
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
