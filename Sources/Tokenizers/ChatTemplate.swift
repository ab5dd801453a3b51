import Foundation

/// A parsed chat template (the `chat_template` of tokenizer_config.json) and how to render it.
///
/// Rendering follows `transformers`' `apply_chat_template(tokenize=False)`: the template runs in Jinja with
/// `trim_blocks` and `lstrip_blocks`, and sees `messages`, `add_generation_prompt`, the special tokens of
/// tokenizer_config.json (`bos_token`, `eos_token`, ...), `raise_exception`, `strftime_now` and
/// `namespace`, plus any extra variables passed by the caller (for example `date_string`).
public struct ChatTemplate {
    let nodes: [JinjaNode]
    /// The template source.
    public let source: String
    /// What parsing and each render may use (nesting, loop iterations, output size).
    public let limits: TemplateLimits

    /// Parses `source`; unsupported syntax is a `TokenizerError.template`, nesting past the limit a `.limit`.
    public init(_ source: String, limits: TemplateLimits = TemplateLimits()) throws {
        self.source = source
        self.limits = limits
        guard source.utf8.count <= limits.maxOutputBytes else {
            throw TokenizerError.limit(name: "template size", limit: limits.maxOutputBytes)
        }
        nodes = try JinjaParser.parse(source, limits: limits)
    }

    /// Renders the template with `variables` as its globals (plus the built-in functions).
    public func render(_ variables: [String: JinjaValue]) throws -> String {
        let budget = RenderBudget(limits)
        var globals = variables
        globals["raise_exception"] = .function(
            JinjaFunction { args, _ in
                throw TokenizerError.template(args.first?.rendered ?? "raise_exception")
            })
        globals["strftime_now"] = .function(
            JinjaFunction { args, _ in
                .string(ChatTemplate.strftime(args.first?.rendered ?? "%Y-%m-%d", Date()))
            })
        globals["namespace"] = .function(
            JinjaFunction { _, kwargs in
                .namespace(JinjaNamespace(Dictionary(kwargs, uniquingKeysWith: { $1 })))
            })
        globals["range"] = .function(
            JinjaFunction { args, _ in
                let bounds = args.compactMap { if case .int(let n) = $0 { return n } else { return nil } }
                let (lo, hi) = bounds.count >= 2 ? (bounds[0], bounds[1]) : (0, bounds.first ?? 0)
                guard lo < hi else { return .array([]) }
                let (count, overflow) = hi.subtractingReportingOverflow(lo)
                guard !overflow else { throw TokenizerError.limit(name: "loop iterations", limit: budget.limits.maxIterations) }
                try budget.checkLength(count)
                try budget.charge(count)
                return .array((lo..<hi).map { .int($0) })
            })
        return try JinjaInterpreter.render(nodes, globals: globals, budget: budget)
    }

    static func strftime(_ format: String, _ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&time, &parts)
        var buffer = [Int8](repeating: 0, count: 256)
        let n = Foundation.strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Tokenizer {
    /// Renders the conversation with the model's chat template, as `transformers`' `apply_chat_template`
    /// with `tokenize=False`. `extraContext` adds template variables (e.g. `date_string`, `tools`).
    public func applyChatTemplate(
        messages: [ChatMessage], addGenerationPrompt: Bool,
        extraContext: [String: JinjaValue] = [:]
    ) throws -> String {
        guard let chatTemplate else { throw TokenizerError.missingChatTemplate }
        let template = try ChatTemplate(chatTemplate)
        var variables: [String: JinjaValue] = [
            "messages": .array(messages.map { .dict([("role", .string($0.role)), ("content", .string($0.content))]) }),
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        for (key, value) in [
            ("bos_token", bosToken), ("eos_token", eosToken), ("unk_token", unkToken),
            ("pad_token", padToken),
        ] {
            if let value { variables[key] = .string(value) }
        }
        for (key, value) in extraContext { variables[key] = value }
        return try template.render(variables)
    }
}
