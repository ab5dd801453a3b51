import Common
import Foundation
import Generation
import JSON
import Models
import Tokenizers

/// A `/v1/chat/completions` or `/v1/completions` body, checked and turned into generation requests.
public struct OpenAIRequest {
    public enum Kind: Sendable { case chat, text }

    public var kind: Kind
    /// The `model` field (nil when absent: the served model).
    public var model: String?
    /// Prompt ids; a chat has one, a completion one per prompt of its `prompt` array.
    public var prompts: [[Int]]
    /// Choices per prompt.
    public var n: Int
    public var stream: Bool
    /// `stream_options.include_usage`: a last chunk with usage.
    public var includeUsage: Bool
    public var logprobs: Bool
    public var parameters: SamplingParameters

    /// The generation requests, prompt-major: choice i of prompt p is at p·n + i. With a seed, choice i uses
    /// seed + i so the n choices differ yet repeat.
    public var generationRequests: [GenerationRequest] {
        prompts.flatMap { prompt in
            (0..<n).map { i in
                var p = parameters
                p.seed = parameters.seed.map { $0 &+ UInt64(i) }
                return GenerationRequest(promptIds: prompt, parameters: p)
            }
        }
    }

    /// Parses a JSON body; every problem is a 400 naming its field.
    public init(body: Data, kind: Kind, tokenizer: Tokenizer, vocabSize: Int, contextLength: Int, defaultMaxTokens: Int) throws {
        // The strict parser first: a key given twice (which JSONSerialization would silently resolve) is a 400.
        do {
            _ = try JSONValue.parse([UInt8](body))
        } catch let error as JSONParseError {
            throw APIError.badRequest("The body is not valid JSON: \(error).")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw APIError.badRequest("The body is not a JSON object.")
        }
        self.kind = kind
        try Self.rejectUnsupported(object)
        let fields = Fields(object)
        model = try fields.string("model")
        stream = try fields.bool("stream") ?? false
        includeUsage = try (fields.object("stream_options")).flatMap { try Fields($0).bool("include_usage") } ?? false
        n = try fields.int("n") ?? 1
        guard (1...16).contains(n) else { throw APIError.badRequest("'n' must be between 1 and 16.", param: "n") }

        var p = SamplingParameters()
        p.temperature = try fields.float("temperature") ?? 1
        guard (0...2).contains(p.temperature) else { throw APIError.badRequest("'temperature' must be between 0 and 2.", param: "temperature") }
        p.topP = try fields.float("top_p") ?? 1
        guard p.topP > 0 && p.topP <= 1 else { throw APIError.badRequest("'top_p' must be in (0, 1].", param: "top_p") }
        p.topK = try fields.int("top_k") ?? 0
        p.repetitionPenalty = try fields.float("repetition_penalty") ?? 1
        p.minNewTokens = try fields.int("min_tokens") ?? 0
        if let seed = try fields.int("seed") { p.seed = UInt64(bitPattern: Int64(seed)) }
        for name in ["frequency_penalty", "presence_penalty"] {
            if let value = try fields.float(name), value != 0 {
                throw APIError.badRequest("'\(name)' is not supported (use 'repetition_penalty').", param: name)
            }
        }
        if let one = object["stop"] as? String {
            p.stopStrings = [one]
        } else if let list = object["stop"] as? [Any] {
            guard list.count <= 4, let strings = list as? [String] else {
                throw APIError.badRequest("'stop' must be a string or up to 4 strings.", param: "stop")
            }
            p.stopStrings = strings
        } else if object["stop"] != nil && !(object["stop"] is NSNull) {
            throw APIError.badRequest("'stop' must be a string or up to 4 strings.", param: "stop")
        }
        p.stopStrings.removeAll { $0.isEmpty }

        switch kind {
        case .chat:
            logprobs = try fields.bool("logprobs") ?? false
            p.topLogprobs = try fields.int("top_logprobs") ?? 0
            guard (0...20).contains(p.topLogprobs) else { throw APIError.badRequest("'top_logprobs' must be between 0 and 20.", param: "top_logprobs") }
            if p.topLogprobs > 0 && !logprobs { throw APIError.badRequest("'top_logprobs' needs 'logprobs': true.", param: "top_logprobs") }
            guard let list = object["messages"] as? [Any], !list.isEmpty else {
                throw APIError.badRequest("'messages' must be a non-empty array.", param: "messages")
            }
            let messages = try list.enumerated().map { try Self.message($1, index: $0) }
            do {
                prompts = [try tokenizer.chatPromptIds(messages)]
            } catch {
                throw APIError.badRequest("The chat template failed: \(error)", param: "messages")
            }
            if let format = try fields.object("response_format") {
                switch format["type"] as? String {
                case "text": break
                case "json_object": p.jsonObject = true
                default:
                    throw APIError.badRequest("response_format type must be 'text' or 'json_object'.", param: "response_format")
                }
            }
        case .text:
            let top = try fields.int("logprobs")
            logprobs = top != nil
            p.topLogprobs = top ?? 0
            guard (0...5).contains(p.topLogprobs) else { throw APIError.badRequest("'logprobs' must be between 0 and 5.", param: "logprobs") }
            prompts = try Self.prompts(object["prompt"], tokenizer: tokenizer)
        }
        for prompt in prompts {
            if prompt.isEmpty && tokenizer.bosTokenId == nil {
                throw APIError.badRequest("The prompt is empty.", param: kind == .chat ? "messages" : "prompt")
            }
            if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw APIError.badRequest("Token id \(bad) is outside the vocabulary of \(vocabSize).", param: "prompt")
            }
        }
        let requested = try fields.int("max_completion_tokens") ?? fields.int("max_tokens")
        let longest = prompts.map(\.count).max() ?? 0
        guard longest < contextLength else {
            throw APIError.badRequest("The prompt has \(longest) tokens; the context is \(contextLength).", param: "messages", code: "context_length_exceeded")
        }
        p.maxNewTokens = requested ?? min(defaultMaxTokens, contextLength - longest)
        guard p.maxNewTokens >= 1 else { throw APIError.badRequest("'max_tokens' must be at least 1.", param: "max_tokens") }
        guard longest + p.maxNewTokens <= contextLength else {
            throw APIError.badRequest(
                "This model's context is \(contextLength) tokens; the prompt (\(longest)) plus max_tokens (\(p.maxNewTokens)) exceed it.",
                param: "max_tokens", code: "context_length_exceeded")
        }
        do { try p.validate() } catch { throw APIError.badRequest("\(error)") }
        parameters = p
    }

    /// OpenAI parameters this server does not implement, with the value that means "not used" (accepted).
    /// Anything else set is a 400 naming the parameter rather than a request silently answered without it.
    static let unsupported: [(name: String, isDefault: (Any) -> Bool)] = [
        ("tools", { ($0 as? [Any])?.isEmpty == true }), ("tool_choice", { $0 as? String == "none" }),
        ("functions", { ($0 as? [Any])?.isEmpty == true }), ("function_call", { $0 as? String == "none" }),
        ("parallel_tool_calls", { _ in false }), ("logit_bias", { ($0 as? [String: Any])?.isEmpty == true }),
        ("echo", { ($0 as? NSNumber).map { Fields.isBoolean($0) && !$0.boolValue } ?? false }),
        ("best_of", { ($0 as? NSNumber).map { !Fields.isBoolean($0) && $0.doubleValue == 1 } ?? false }),
        ("suffix", { $0 as? String == "" }), ("audio", { _ in false }), ("modalities", { _ in false }),
        ("prediction", { _ in false }),
    ]

    static func rejectUnsupported(_ object: [String: Any]) throws {
        for (name, isDefault) in unsupported {
            guard let value = object[name], !(value is NSNull), !isDefault(value) else { continue }
            throw APIError.badRequest("'\(name)' is not supported by this server.", param: name, code: "unsupported_parameter")
        }
    }

    /// The roles a chat template is written for; `developer` is OpenAI's new name for `system`.
    static let roles: Set<String> = ["system", "developer", "user", "assistant"]

    static func message(_ value: Any, index: Int) throws -> ChatMessage {
        let message: ChatMessage
        do {
            message = try ChatMessage.message(fromJSON: value, index: index)
        } catch let error as ChatMessageError {
            throw APIError.badRequest("\(error).", param: "messages")
        }
        guard roles.contains(message.role) || message.role == "system" else {
            throw APIError.badRequest(
                "messages[\(index)].role '\(message.role.prefix(40))' is not one of \(roles.sorted().joined(separator: ", ")).",
                param: "messages")
        }
        return message
    }

    /// `prompt`: a string, strings, token ids, or arrays of token ids.
    static func prompts(_ value: Any?, tokenizer: Tokenizer) throws -> [[Int]] {
        let bad = APIError.badRequest("'prompt' must be a string, an array of strings, or token ids.", param: "prompt")
        let badIds = APIError.badRequest("'prompt' token ids must be integers (no fractions, booleans or numbers beyond 2^53).",
                                         param: "prompt")
        switch value {
        case let text as String:
            return [tokenizer.encodeIds(text, addSpecialTokens: true)]
        case let list as [Any] where !list.isEmpty:
            if let texts = list as? [String] { return texts.map { tokenizer.encodeIds($0, addSpecialTokens: true) } }
            // Ids are checked exactly: 2.5, true or 1e20 are refused, never floored or coerced into some other token.
            if list.allSatisfy({ $0 is NSNumber }) {
                guard let ids = TokenBatch.ids(fromJSON: list) else { throw badIds }
                return [ids]
            }
            if list.allSatisfy({ $0 is [Any] }) {
                return try list.map { item in
                    guard let ids = TokenBatch.ids(fromJSON: item) else { throw badIds }
                    return ids
                }
            }
            throw bad
        default:
            throw bad
        }
    }
}

/// Typed reads of optional JSON fields; a present value of the wrong type is a 400 naming the field.
struct Fields {
    let object: [String: Any]

    init(_ object: [String: Any]) { self.object = object }

    private func value(_ key: String) -> Any? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        return value
    }

    private func wrong(_ key: String, _ type: String) -> APIError { .badRequest("'\(key)' must be \(type).", param: key) }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let s = value as? String else { throw wrong(key, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let n = value as? NSNumber, Self.isBoolean(n) else { throw wrong(key, "a boolean") }
        return n.boolValue
    }

    func number(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let n = value as? NSNumber, !Self.isBoolean(n), n.doubleValue.isFinite else { throw wrong(key, "a number") }
        return n.doubleValue
    }

    /// JSONSerialization returns true and false as NSNumbers of C type `char` ("c").
    static func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    func float(_ key: String) throws -> Float? { try number(key).map { Float($0) } }

    func int(_ key: String) throws -> Int? {
        guard let d = try number(key) else { return nil }
        guard d == d.rounded(), abs(d) < 9.2e18 else { throw wrong(key, "an integer") }
        return Int(d)
    }

    func object(_ key: String) throws -> [String: Any]? {
        guard let value = value(key) else { return nil }
        guard let o = value as? [String: Any] else { throw wrong(key, "an object") }
        return o
    }
}
