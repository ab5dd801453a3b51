import Common
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Tokenizers

/// The OpenAI chat API over a `ChatResponder` (`serve --teacher builtin`): `GET /v1/models`,
/// `POST /v1/chat/completions`, whole or streamed, with `usage` counted by `ApproximateTokens`.
///
/// Request handling, in order:
/// 1. the key, body limit and error shapes are those of `OpenAIServer` (401, 413, OpenAI-shaped errors);
/// 2. the body is validated as OpenAI does (`messages`, `n` 1–16, `max_tokens` ≥ 1, `response_format` of
///    type `text` or `json_object`, sampling fields of the right type); `logprobs` is a 400, since the
///    responder has no token probabilities;
/// 3. the responder is deterministic, so temperature, top_p and seed change nothing and the n choices
///    are equal; an answer longer than `max_tokens` is cut there with finish reason `length`;
/// 4. `json_object` needs no masking: answers are JSON objects already, and refusals stay plain text
///    with the message's `refusal` field set, as OpenAI marks a refusal.
public struct ResponderServer: Sendable {
    /// Address, port, model name, key and limits.
    public let configuration: ServerConfiguration
    let responder: any ChatResponder
    let logger: Logger

    /// A server answering for `responder`.
    public init(configuration: ServerConfiguration, responder: any ChatResponder,
                logger: Logger = Logger(label: "text2grad.serve")) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` receives the bound port.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(apiKey: configuration.apiKey))
        let server = self
        let name = configuration.modelName
        let model: [String: Any] = ["id": name, "object": "model", "created": 0, "owned_by": "text2grad"]
        router.get("/v1/models") { _, _ in server.json(200, ["object": "list", "data": [model]]) }
        router.get("/v1/models/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == name else { throw APIError.unknownModel(id, served: name) }
            return server.json(200, model)
        }
        router.post("/v1/chat/completions") { request, _ in try await server.chat(request) }
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "text2grad"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? -1) },
            logger: logger)
    }

    func json(_ status: Int, _ object: [String: Any]) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(data: jsonData(object))))
    }

    /// A checked chat request.
    struct ChatCall {
        var messages: [ChatMessage]
        var n: Int
        var stream: Bool
        var includeUsage: Bool
        var maxTokens: Int?
    }

    /// Rule 2: the body's fields, each problem a 400 naming its field.
    func parse(_ body: Data) throws -> ChatCall {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw APIError.badRequest("The body is not a JSON object.")
        }
        let fields = Fields(object)
        if let model = try fields.string("model"), model != configuration.modelName {
            throw APIError.unknownModel(model, served: configuration.modelName)
        }
        guard let list = object["messages"] as? [Any], !list.isEmpty else {
            throw APIError.badRequest("'messages' must be a non-empty array.", param: "messages")
        }
        let messages = try list.enumerated().map { try OpenAIRequest.message($1, index: $0) }
        let n = try fields.int("n") ?? 1
        guard (1...16).contains(n) else { throw APIError.badRequest("'n' must be between 1 and 16.", param: "n") }
        let maxTokens = try fields.int("max_completion_tokens") ?? fields.int("max_tokens")
        if let maxTokens, maxTokens < 1 {
            throw APIError.badRequest("'max_tokens' must be at least 1.", param: "max_tokens")
        }
        if try fields.bool("logprobs") == true {
            throw APIError.badRequest("The built-in teacher has no token log-probabilities.", param: "logprobs")
        }
        if let temperature = try fields.number("temperature"), !(0...2).contains(temperature) {
            throw APIError.badRequest("'temperature' must be between 0 and 2.", param: "temperature")
        }
        _ = try fields.number("top_p")
        _ = try fields.int("seed")
        if let format = try fields.object("response_format"),
            !["text", "json_object"].contains(format["type"] as? String ?? "")
        {
            throw APIError.badRequest("response_format type must be 'text' or 'json_object'.", param: "response_format")
        }
        let stream = try fields.bool("stream") ?? false
        let includeUsage = try fields.object("stream_options").flatMap { try Fields($0).bool("include_usage") } ?? false
        return ChatCall(messages: messages, n: n, stream: stream, includeUsage: includeUsage, maxTokens: maxTokens)
    }

    /// Reads the body (413 past the limit), answers it, and sends the answer whole or as server-sent events.
    func chat(_ request: Request) async throws -> Response {
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
        let call = try parse(Data(buffer: body))
        let answer = responder.respond(to: call.messages)
        let (text, cut) = ApproximateTokens.prefix(answer.text, tokens: call.maxTokens ?? .max)
        let finish = cut ? "length" : "stop"
        // Each message costs its content plus a few tokens of framing, as OpenAI counts chat prompts.
        let promptTokens = call.messages.reduce(3) { $0 + 4 + ApproximateTokens.count($1.content) }
        let completionTokens = ApproximateTokens.count(text) * call.n
        let usage: [String: Any] = ["prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                                    "total_tokens": promptTokens + completionTokens]
        let hex = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let head: [String: Any] = ["id": "chatcmpl-" + hex.prefix(24), "created": Int(Date().timeIntervalSince1970),
                                   "model": configuration.modelName, "system_fingerprint": "text2grad"]
        let refusal: Any = answer.refusal ? text as Any : NSNull()
        if !call.stream {
            var object = head
            object["object"] = "chat.completion"
            object["choices"] = (0..<call.n).map { index -> [String: Any] in
                ["index": index, "logprobs": NSNull(), "finish_reason": finish,
                 "message": ["role": "assistant", "content": text, "refusal": refusal] as [String: Any]]
            }
            object["usage"] = usage
            return json(200, object)
        }
        func chunk(_ choices: [[String: Any]], usage: Any? = nil) -> [String: Any] {
            var object = head
            object["object"] = "chat.completion.chunk"
            object["choices"] = choices
            if call.includeUsage { object["usage"] = usage ?? NSNull() }
            return object
        }
        var events: [[String: Any]] = []
        for index in 0..<call.n {
            let deltas: [([String: Any], Any)] = [
                (["role": "assistant", "content": ""], NSNull()), (["content": text], NSNull()), ([:], finish),
            ]
            for (delta, reason) in deltas {
                events.append(chunk([["index": index, "delta": delta, "logprobs": NSNull(), "finish_reason": reason]]))
            }
        }
        if call.includeUsage { events.append(chunk([], usage: usage)) }
        var buffer = ByteBuffer()
        for event in events {
            buffer.writeString("data: ")
            buffer.writeBytes(jsonData(event))
            buffer.writeString("\n\n")
        }
        buffer.writeString("data: [DONE]\n\n")
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                        body: ResponseBody(byteBuffer: buffer))
    }
}
