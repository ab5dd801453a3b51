import Chat
import JSON
import Tokenizers

/// A `ChatResponder` (`text2grad serve --teacher builtin`): the chat endpoint only (`/v1/completions` is a 404),
/// whole or streamed, with `usage` counted by `ApproximateTokens`.
///
/// Answering, in order:
/// 1. `logprobs` is a 400, since the responder has no token probabilities;
/// 2. the responder is deterministic, so temperature, top_p and seed change nothing and the n choices are equal;
///    an answer longer than `max_tokens` is cut there with finish reason `length`;
/// 3. `json_object` needs no masking: answers are JSON objects already, and refusals stay plain text with the
///    message's `refusal` field set, as OpenAI marks a refusal;
/// 4. a stream sends, per choice, the role, the whole text and the finish reason as three chunks.
public struct ResponderBackend: CompletionBackend {
    let responder: any ChatResponder

    public var kinds: Set<OpenAIRequest.Kind> { [.chat] }

    /// A backend answering with `responder`.
    public init(responder: any ChatResponder) { self.responder = responder }

    public func answer(_ request: OpenAIRequest, configuration: ServerConfiguration) async throws -> CompletionAnswer {
        guard case .messages(let messages) = request.input else {
            preconditionFailure("the server routes only chat requests to a responder")
        }
        if request.logprobs {
            throw APIError.badRequest("The built-in teacher has no token log-probabilities.", param: "logprobs")
        }
        let answer = responder.respond(to: messages)
        let (text, cut) = ApproximateTokens.prefix(answer.text, tokens: request.maxTokens ?? .max)
        let finish = cut ? "length" : "stop"
        // Each message costs its content plus a few tokens of framing, as OpenAI counts chat prompts.
        let promptTokens = messages.reduce(3) { $0 + 4 + ApproximateTokens.count($1.content) }
        let completionTokens = ApproximateTokens.count(text) * request.n
        let response = OpenAIResponse(kind: .chat, model: configuration.modelName, includeUsage: request.includeUsage)
        guard request.stream else {
            let choices = (0..<request.n).map { index in
                response.choice(index: index, text: text, finish: finish, refusal: answer.refusal ? text : nil)
            }
            return .whole(response.complete(choices: choices, promptTokens: promptTokens,
                                            completionTokens: completionTokens))
        }
        var chunks: [JSONValue] = []
        for index in 0..<request.n {
            chunks.append(response.chunk(index: index, text: "", role: true))
            chunks.append(response.chunk(index: index, text: text))
            chunks.append(response.chunk(index: index, text: nil, finish: finish))
        }
        if request.includeUsage {
            chunks.append(response.usageChunk(prompt: promptTokens, completion: completionTokens))
        }
        let events = chunks
        return .stream(ChunkStream { send in
            for chunk in events { try await send(chunk) }
        })
    }
}
