import Tokenizers

/// Something that answers a chat conversation without a language model (a rule-based teacher such as the
/// built-in task's), served with the same API as a model (`OpenAIServer` through a `ResponderBackend`).
public protocol ChatResponder: Sendable {
    /// The assistant's answer to `messages`; `refusal` marks an answer that declines the request.
    func respond(to messages: [ChatMessage]) -> (text: String, refusal: Bool)
}
