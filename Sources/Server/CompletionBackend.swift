import JSON

/// What answers `OpenAIServer`'s completion endpoints: a model behind a scheduler (`ModelBackend`) or a rule-based
/// responder (`ResponderBackend`).
///
/// The server does everything around the answer, the same for every backend: the key, the body limit, parsing and
/// checking the body into an `OpenAIRequest`, the `model` name, `/v1/models`, errors in OpenAI's shape, the
/// connection guards, and the server-sent-events framing of a stream.
public protocol CompletionBackend: Sendable {
    /// The endpoints answered (`.chat`: `/v1/chat/completions`, `.text`: `/v1/completions`); the others are 404s.
    var kinds: Set<OpenAIRequest.Kind> { get }

    /// The answer to a checked request for the served model, whole or streamed; a thrown `APIError` is sent as
    /// the response.
    func answer(_ request: OpenAIRequest, configuration: ServerConfiguration) async throws -> CompletionAnswer
}

/// A backend's answer: one JSON body, or the chunks of a stream.
public enum CompletionAnswer: Sendable {
    /// A 200 with this body.
    case whole(JSONValue)
    /// Server-sent events: each chunk as `data: <json>`, then `data: [DONE]`.
    case stream(ChunkStream)
}

/// The chunks of a streamed answer, produced as the client reads them.
public struct ChunkStream: Sendable {
    /// Calls `send` with each chunk in order and returns after the last; a throw from `send` (the client left)
    /// ends it early.
    public let produce: @Sendable (_ send: (JSONValue) async throws -> Void) async throws -> Void
    /// Stops the work behind the chunks; called when the client left before the end.
    public let cancel: @Sendable () -> Void

    /// A stream of `produce`'s chunks.
    public init(produce: @escaping @Sendable (_ send: (JSONValue) async throws -> Void) async throws -> Void,
                cancel: @escaping @Sendable () -> Void = {}) {
        self.produce = produce
        self.cancel = cancel
    }
}
