import Generation
import JSON
import Tokenizers

/// A `/v1/chat/completions` or `/v1/completions` body, parsed once by the strict JSON parser and checked field by
/// field; every backend answers from this value.
///
/// What it checks, every problem a 400 naming its field (the same for every backend):
/// 1. the body is one JSON object without a key given twice;
/// 2. OpenAI parameters this server does not implement are refused unless they hold their "unused" value;
/// 3. each field has its JSON type and range (`n` 1–16, `temperature` 0–2, `top_p` in (0, 1], `max_tokens` ≥ 1,
///    `stop` up to 4 strings, `response_format` of type `text` or `json_object`, logprobs fields per endpoint);
/// 4. a chat has a non-empty `messages` list of known roles; a completion's `prompt` is a string, strings, token
///    ids or lists of token ids, ids exactly integral.
/// What needs the model (the chat template, the vocabulary, the context) is the model backend's to check.
public struct OpenAIRequest: Sendable, Equatable {
    /// Which endpoint a body came to: `/v1/chat/completions` or `/v1/completions`.
    public enum Kind: Sendable, Hashable { case chat, text }

    /// What is to be continued.
    public enum Input: Sendable, Equatable {
        /// A chat's `messages`.
        case messages([ChatMessage])
        /// A completion's `prompt` strings, each a prompt.
        case texts([String])
        /// A completion's `prompt` token ids, each list a prompt.
        case tokenIds([[Int]])
    }

    /// The endpoint.
    public var kind: Kind { if case .messages = input { .chat } else { .text } }
    /// The `model` field (nil when absent: the served model).
    public var model: String?
    public var input: Input
    /// Choices per prompt.
    public var n: Int
    public var stream: Bool
    /// `stream_options.include_usage`: every chunk carries `usage`, null until a last chunk with the counts.
    public var includeUsage: Bool
    /// Whether log-probabilities were asked for (chat: `logprobs: true`; completions: `logprobs` given).
    public var logprobs: Bool
    /// `max_completion_tokens` or `max_tokens`, when given (at least 1).
    public var maxTokens: Int?
    /// The sampling fields; `maxNewTokens` is left for the backend to resolve.
    public var parameters: SamplingParameters

    /// Parses a UTF-8 body and checks it (see the type's rules).
    public init(body: [UInt8], kind: Kind) throws {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch let error as JSONParseError {
            throw APIError.badRequest("The body is not valid JSON: \(error).")
        }
        try self.init(json: json, kind: kind)
    }

    /// Checks a parsed body (see the type's rules).
    public init(json: JSONValue, kind: Kind) throws {
        guard case .object = json else { throw APIError.badRequest("The body is not a JSON object.") }
        try Self.rejectUnsupported(json)
        let fields = Fields(json)
        model = try fields.string("model")
        stream = try fields.bool("stream") ?? false
        includeUsage = try fields.object("stream_options").flatMap { try Fields($0).bool("include_usage") } ?? false
        n = try fields.int("n") ?? 1
        guard (1...16).contains(n) else { throw APIError.badRequest("'n' must be between 1 and 16.", param: "n") }

        var p = SamplingParameters()
        p.temperature = try fields.float("temperature") ?? 1
        guard (0...2).contains(p.temperature) else {
            throw APIError.badRequest("'temperature' must be between 0 and 2.", param: "temperature")
        }
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
        p.stopStrings = try Self.stopStrings(json["stop"])

        switch kind {
        case .chat:
            logprobs = try fields.bool("logprobs") ?? false
            p.topLogprobs = try fields.int("top_logprobs") ?? 0
            guard (0...20).contains(p.topLogprobs) else {
                throw APIError.badRequest("'top_logprobs' must be between 0 and 20.", param: "top_logprobs")
            }
            if p.topLogprobs > 0 && !logprobs {
                throw APIError.badRequest("'top_logprobs' needs 'logprobs': true.", param: "top_logprobs")
            }
            guard let list = json["messages"]?.arrayValue, !list.isEmpty else {
                throw APIError.badRequest("'messages' must be a non-empty array.", param: "messages")
            }
            input = .messages(try list.enumerated().map { try Self.message($1, index: $0) })
            if let format = try fields.object("response_format") {
                switch format["type"]?.stringValue {
                case "text": break
                case "json_object": p.jsonObject = true
                default:
                    throw APIError.badRequest(
                        "response_format type must be 'text' or 'json_object'.", param: "response_format")
                }
            }
        case .text:
            let top = try fields.int("logprobs")
            logprobs = top != nil
            p.topLogprobs = top ?? 0
            guard (0...5).contains(p.topLogprobs) else {
                throw APIError.badRequest("'logprobs' must be between 0 and 5.", param: "logprobs")
            }
            input = try Self.prompts(json["prompt"])
        }
        maxTokens = try fields.int("max_completion_tokens") ?? fields.int("max_tokens")
        if let maxTokens, maxTokens < 1 {
            throw APIError.badRequest("'max_tokens' must be at least 1.", param: "max_tokens")
        }
        // What can be checked before the backend resolves the response budget (a request without one has no cap).
        p.maxNewTokens = maxTokens ?? .max
        do { try p.validate() } catch { throw APIError.badRequest("\(error)") }
        parameters = p
    }

    /// OpenAI parameters this server does not implement, with the value that means "not used" (accepted).
    /// Anything else set is a 400 naming the parameter rather than a request silently answered without it.
    static let unsupported: [(name: String, isDefault: @Sendable (JSONValue) -> Bool)] = [
        ("tools", { $0.arrayValue?.isEmpty == true }), ("tool_choice", { $0.stringValue == "none" }),
        ("functions", { $0.arrayValue?.isEmpty == true }), ("function_call", { $0.stringValue == "none" }),
        ("parallel_tool_calls", { _ in false }), ("logit_bias", { $0.objectValue?.isEmpty == true }),
        ("echo", { $0 == .bool(false) }), ("best_of", { $0 == .number(1) }),
        ("suffix", { $0.stringValue == "" }), ("audio", { _ in false }), ("modalities", { _ in false }),
        ("prediction", { _ in false }),
    ]

    static func rejectUnsupported(_ object: JSONValue) throws {
        for (name, isDefault) in unsupported {
            guard let value = object[name], value != .null, !isDefault(value) else { continue }
            throw APIError.badRequest(
                "'\(name)' is not supported by this server.", param: name, code: "unsupported_parameter")
        }
    }

    /// `stop`: a string or up to 4 strings; empty strings are dropped.
    static func stopStrings(_ value: JSONValue?) throws -> [String] {
        let strings: [String]
        switch value {
        case nil, .null?: return []
        case .string(let one)?: strings = [one]
        case .array(let list)? where list.count <= 4 && list.allSatisfy({ $0.stringValue != nil }):
            strings = list.compactMap(\.stringValue)
        default: throw APIError.badRequest("'stop' must be a string or up to 4 strings.", param: "stop")
        }
        return strings.filter { !$0.isEmpty }
    }

    static func message(_ value: JSONValue, index: Int) throws -> ChatMessage {
        let message: ChatMessage
        do {
            message = try ChatMessage.message(from: value, index: index)
        } catch let error as ChatMessageError {
            throw APIError.badRequest("\(error).", param: "messages")
        }
        guard ChatMessage.roles.contains(message.role) else {
            let known = ChatMessage.roles.sorted().joined(separator: ", ")
            throw APIError.badRequest(
                "messages[\(index)].role '\(message.role.prefix(40))' is not one of \(known).", param: "messages")
        }
        return message
    }

    /// `prompt`: a string, strings, token ids, or arrays of token ids. Ids are checked exactly: 2.5, true or 1e20
    /// are refused, never floored or coerced into some other token.
    static func prompts(_ value: JSONValue?) throws -> Input {
        let bad = APIError.badRequest("'prompt' must be a string, an array of strings, or token ids.", param: "prompt")
        let badIds = APIError.badRequest(
            "'prompt' token ids must be integers (no fractions, booleans or numbers beyond 2^53).", param: "prompt")
        func ids(_ list: [JSONValue]) throws -> [Int] {
            try list.map { item in
                guard case .number = item, let id = item.intValue else { throw badIds }
                return id
            }
        }
        switch value {
        case .string(let text)?:
            return .texts([text])
        case .array(let list)? where !list.isEmpty:
            if list.allSatisfy({ $0.stringValue != nil }) { return .texts(list.compactMap(\.stringValue)) }
            if list.allSatisfy(\.isScalarNumberOrBool) { return .tokenIds([try ids(list)]) }
            if list.allSatisfy({ $0.arrayValue != nil }) {
                return .tokenIds(try list.map { try ids($0.arrayValue ?? []) })
            }
            throw bad
        default:
            throw bad
        }
    }
}

extension JSONValue {
    /// A number or a boolean: what a list of token ids may look like before its items are checked.
    fileprivate var isScalarNumberOrBool: Bool {
        switch self {
        case .number, .bool: return true
        default: return false
        }
    }
}

/// Typed reads of optional members of a JSON object; null reads as absent, and a present value of the wrong type
/// is a 400 naming the field.
struct Fields {
    let object: JSONValue

    init(_ object: JSONValue) { self.object = object }

    private func value(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    private func wrong(_ key: String, _ type: String) -> APIError {
        .badRequest("'\(key)' must be \(type).", param: key)
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let s = value.stringValue else { throw wrong(key, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let b) = value else { throw wrong(key, "a boolean") }
        return b
    }

    func number(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let n = value.numberValue else { throw wrong(key, "a number") }
        return n
    }

    func float(_ key: String) throws -> Float? { try number(key).map { Float($0) } }

    func int(_ key: String) throws -> Int? {
        guard let d = try number(key) else { return nil }
        guard d == d.rounded(), abs(d) < 9.2e18 else { throw wrong(key, "an integer") }
        return Int(d)
    }

    func object(_ key: String) throws -> JSONValue? {
        guard let value = value(key) else { return nil }
        guard case .object = value else { throw wrong(key, "an object") }
        return value
    }
}
