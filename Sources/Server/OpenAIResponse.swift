import Foundation
import Generation
import JSON
import Tokenizers

/// Builds response bodies in the OpenAI API's shapes (field names as in its API reference), for every backend:
/// `chat.completion`, `chat.completion.chunk`, `text_completion`, and `usage`.
struct OpenAIResponse: Sendable {
    let kind: OpenAIRequest.Kind
    let id: String
    let created: Int
    let model: String
    /// Streamed chunks carry `usage`: null on every chunk but the last (`stream_options.include_usage`).
    let includeUsage: Bool

    init(kind: OpenAIRequest.Kind, model: String, includeUsage: Bool = false) {
        self.kind = kind
        let hex = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + hex.prefix(24)
        created = Int(Date().timeIntervalSince1970)
        self.model = model
        self.includeUsage = includeUsage
    }

    static func usage(prompt: Int, completion: Int) -> JSONValue {
        ["prompt_tokens": JSONValue(prompt), "completion_tokens": JSONValue(completion),
         "total_tokens": JSONValue(prompt + completion)]
    }

    /// The fields every body and chunk starts with.
    private func head(object: String) -> [(key: String, value: JSONValue)] {
        [("id", JSONValue(id)), ("object", JSONValue(object)), ("created", JSONValue(created)),
         ("model", JSONValue(model)), ("system_fingerprint", "text2grad")]
    }

    /// One choice of a whole answer; `refusal` is a chat answer's text when it declines the request.
    func choice(index: Int, text: String, finish: String, logprobs: JSONValue = .null, refusal: String? = nil)
        -> JSONValue
    {
        switch kind {
        case .chat:
            let message: JSONValue = ["role": "assistant", "content": JSONValue(text), "refusal": JSONValue(refusal)]
            return ["index": JSONValue(index), "logprobs": logprobs, "finish_reason": JSONValue(finish),
                    "message": message]
        case .text:
            return ["index": JSONValue(index), "text": JSONValue(text), "logprobs": logprobs,
                    "finish_reason": JSONValue(finish)]
        }
    }

    /// A whole (non-streamed) response: the choices in order and the usage.
    func complete(choices: [JSONValue], promptTokens: Int, completionTokens: Int) -> JSONValue {
        .object(head(object: kind == .chat ? "chat.completion" : "text_completion") + [
            ("choices", .array(choices)), ("usage", Self.usage(prompt: promptTokens, completion: completionTokens)),
        ])
    }

    /// One streamed chunk: a delta of choice `index` (role on the first chunk of a chat choice; no text on the
    /// last, which has the finish reason).
    func chunk(index: Int, text: String?, role: Bool = false, logprobs: JSONValue = .null, finish: String? = nil)
        -> JSONValue
    {
        var choice: [(key: String, value: JSONValue)] = [
            ("index", JSONValue(index)), ("logprobs", logprobs), ("finish_reason", JSONValue(finish)),
        ]
        switch kind {
        case .chat:
            var delta: [(key: String, value: JSONValue)] = []
            if role { delta.append(("role", "assistant")) }
            if let text { delta.append(("content", JSONValue(text))) }
            choice.append(("delta", .object(delta)))
        case .text:
            choice.append(("text", JSONValue(text ?? "")))
        }
        return chunk(choices: [.object(choice)], usage: .null)
    }

    /// The last chunk of a stream with `stream_options.include_usage`: no choices, only usage.
    func usageChunk(prompt: Int, completion: Int) -> JSONValue {
        chunk(choices: [], usage: Self.usage(prompt: prompt, completion: completion))
    }

    private func chunk(choices: [JSONValue], usage: JSONValue) -> JSONValue {
        let fields = head(object: kind == .chat ? "chat.completion.chunk" : "text_completion")
            + [("choices", .array(choices))]
        return .object(includeUsage ? fields + [("usage", usage)] : fields)
    }

    static func finishReason(_ reason: FinishReason) -> String {
        switch reason {
        case .stop, .cancelled: return "stop"
        case .length: return "length"
        }
    }
}

/// Log-probabilities in the API's shapes, each token's text and bytes read from the tokenizer.
struct LogprobsWriter {
    let kind: OpenAIRequest.Kind
    /// Read-only after loading, so sharing it between request handlers is safe.
    let tokenizer: Tokenizer

    /// The token's text and UTF-8 bytes as a logprobs entry shows them (the raw bytes, also for a token holding
    /// part of a character).
    func tokenText(_ id: Int) -> (String, [Int]) {
        (tokenizer.decode([id], skipSpecialTokens: false), tokenizer.tokenBytes(id).map(Int.init))
    }

    /// Chat `logprobs.content` entries, or the legacy completions object. In the legacy `top_logprobs` objects,
    /// keyed by token text, two alternatives with the same text keep the more likely one's log-probability.
    func logprobs(_ tokens: [TokenLogprob], top: [[TokenLogprob]], textOffset: Int = 0) -> JSONValue {
        switch kind {
        case .chat:
            let content: [JSONValue] = zip(tokens, top).map { token, alternatives in
                let (text, bytes) = tokenText(token.id)
                let topEntries: [JSONValue] = alternatives.map { alternative in
                    let (t, b) = tokenText(alternative.id)
                    return ["token": JSONValue(t), "logprob": JSONValue(Double(alternative.logprob)),
                            "bytes": .array(b.map { JSONValue($0) })]
                }
                return ["token": JSONValue(text), "logprob": JSONValue(Double(token.logprob)),
                        "bytes": .array(bytes.map { JSONValue($0) }), "top_logprobs": .array(topEntries)]
            }
            return ["content": .array(content), "refusal": .null]
        case .text:
            var offsets: [JSONValue] = []
            var offset = textOffset
            for token in tokens {
                offsets.append(JSONValue(offset))
                offset += tokenText(token.id).0.count
            }
            let topObjects: [JSONValue] = top.map { alternatives in
                var members: [(key: String, value: JSONValue)] = []
                var seen = Set<String>()
                for alternative in alternatives {
                    let text = tokenText(alternative.id).0
                    if seen.insert(text).inserted { members.append((text, JSONValue(Double(alternative.logprob)))) }
                }
                return .object(members)
            }
            return [
                "tokens": .array(tokens.map { JSONValue(tokenText($0.id).0) }),
                "token_logprobs": .array(tokens.map { JSONValue(Double($0.logprob)) }),
                "top_logprobs": .array(topObjects), "text_offset": .array(offsets),
            ]
        }
    }
}
