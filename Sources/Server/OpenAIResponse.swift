import Foundation
import Generation
import Tokenizers

/// Builds response bodies in the OpenAI API's shapes (field names as in its API reference):
/// `chat.completion`, `chat.completion.chunk`, `text_completion`, and `usage`.
struct OpenAIResponse {
    let kind: OpenAIRequest.Kind
    let id: String
    let created: Int
    let model: String
    let tokenizer: Tokenizer

    init(kind: OpenAIRequest.Kind, model: String, tokenizer: Tokenizer) {
        self.kind = kind
        let hex = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + hex.prefix(24)
        created = Int(Date().timeIntervalSince1970)
        self.model = model
        self.tokenizer = tokenizer
    }

    static func usage(prompt: Int, completion: Int) -> [String: Any] {
        ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion]
    }

    /// The token's text and UTF-8 bytes as a logprobs entry shows them.
    func tokenText(_ id: Int) -> (String, [Int]) {
        (tokenizer.decode([id], skipSpecialTokens: false), tokenizer.tokenBytes(id).map(Int.init))
    }

    /// Chat `logprobs.content` entries, or the legacy completions object.
    func logprobs(_ tokens: [TokenLogprob], top: [[TokenLogprob]], textOffset: Int = 0) -> [String: Any] {
        switch kind {
        case .chat:
            let content: [[String: Any]] = zip(tokens, top).map { token, alternatives in
                let (text, bytes) = tokenText(token.id)
                return [
                    "token": text, "logprob": Double(token.logprob), "bytes": bytes,
                    "top_logprobs": alternatives.map { alternative -> [String: Any] in
                        let (t, b) = tokenText(alternative.id)
                        return ["token": t, "logprob": Double(alternative.logprob), "bytes": b]
                    },
                ]
            }
            return ["content": content, "refusal": NSNull()]
        case .text:
            var offsets: [Int] = []
            var offset = textOffset
            for token in tokens {
                offsets.append(offset)
                offset += tokenText(token.id).0.count
            }
            return [
                "tokens": tokens.map { tokenText($0.id).0 },
                "token_logprobs": tokens.map { Double($0.logprob) },
                "top_logprobs": top.map { alternatives -> [String: Any] in
                    var entry: [String: Any] = [:]
                    for alternative in alternatives { entry[tokenText(alternative.id).0] = Double(alternative.logprob) }
                    return entry
                },
                "text_offset": offsets,
            ]
        }
    }

    /// A whole (non-streamed) response for the finished sequences, in choice order.
    func complete(_ results: [GeneratedSequence], logprobs wanted: Bool, promptTokens: Int) -> [String: Any] {
        let choices: [[String: Any]] = results.enumerated().map { index, result in
            let tokens = zip(result.tokenIds, result.logprobs).map { TokenLogprob(id: $0, logprob: $1) }
            let lp: Any = wanted ? logprobs(tokens, top: result.topLogprobs) : NSNull()
            switch kind {
            case .chat:
                return [
                    "index": index, "logprobs": lp, "finish_reason": finishReason(result.finishReason),
                    "message": ["role": "assistant", "content": result.text, "refusal": NSNull()] as [String: Any],
                ]
            case .text:
                return ["index": index, "text": result.text, "logprobs": lp, "finish_reason": finishReason(result.finishReason)]
            }
        }
        let completion = results.reduce(0) { $0 + $1.tokenIds.count }
        return [
            "id": id, "object": kind == .chat ? "chat.completion" : "text_completion", "created": created, "model": model,
            "system_fingerprint": "text2grad", "choices": choices, "usage": Self.usage(prompt: promptTokens, completion: completion),
        ]
    }

    /// One streamed chunk: a delta of choice `index` (role on the first chunk of a chat choice).
    func chunk(index: Int, text: String?, role: Bool = false, logprobs lp: [String: Any]? = nil, finish: FinishReason? = nil) -> [String: Any] {
        var choice: [String: Any] = ["index": index, "logprobs": lp ?? NSNull(), "finish_reason": finish.map(finishReason) ?? NSNull()]
        switch kind {
        case .chat:
            var delta: [String: Any] = [:]
            if role { delta["role"] = "assistant" }
            if let text { delta["content"] = text }
            choice["delta"] = delta
        case .text:
            choice["text"] = text ?? ""
        }
        return [
            "id": id, "object": kind == .chat ? "chat.completion.chunk" : "text_completion", "created": created,
            "model": model, "system_fingerprint": "text2grad", "choices": [choice],
        ]
    }

    /// The last chunk of a stream with `stream_options.include_usage`: no choices, only usage.
    func usageChunk(prompt: Int, completion: Int) -> [String: Any] {
        [
            "id": id, "object": kind == .chat ? "chat.completion.chunk" : "text_completion", "created": created,
            "model": model, "system_fingerprint": "text2grad", "choices": [] as [Any],
            "usage": Self.usage(prompt: prompt, completion: completion),
        ]
    }

    func finishReason(_ reason: FinishReason) -> String {
        switch reason {
        case .stop, .cancelled: return "stop"
        case .length: return "length"
        }
    }
}

/// Serialises a JSON object (the error and response builders only produce valid JSON values).
func jsonData(_ object: [String: Any]) -> Data {
    (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
}
