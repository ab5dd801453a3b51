import Foundation

/// One line of the output file (fields listed in docs/ARCHITECTURE.md, "annotation records").
public struct AnnotationRecord: Codable, Sendable, Equatable {
    /// The item's id; the output holds one record per id.
    public var id: String
    /// The task name (`summarization`, `code`, `qa` or a custom task's name).
    public var task: String
    /// The prompt as read from the input.
    public var prompt: String
    /// The critiqued response; span offsets index its Unicode scalars.
    public var response: String
    /// The teacher's critique paragraph.
    public var critique: String
    /// Every quote with its offsets, match kind and similarity.
    public var spans: [AlignedSpan]
    /// Who answered and what it cost.
    public var teacher: TeacherInfo
    /// The teacher's full final answer, verbatim.
    public var raw: String
    /// The first answer when it could not be parsed and the teacher was asked again.
    public var rawFirst: String?
    /// The test run, for code tasks with tests.
    public var execution: ExecutionResult?

    enum CodingKeys: String, CodingKey {
        case id, task, prompt, response, critique, spans, teacher, raw, execution
        case rawFirst = "raw_first"
    }

    /// A record with every field.
    public init(
        id: String, task: String, prompt: String, response: String, critique: String, spans: [AlignedSpan],
        teacher: TeacherInfo, raw: String, rawFirst: String? = nil, execution: ExecutionResult? = nil
    ) {
        self.id = id
        self.task = task
        self.prompt = prompt
        self.response = response
        self.critique = critique
        self.spans = spans
        self.teacher = teacher
        self.raw = raw
        self.rawFirst = rawFirst
        self.execution = execution
    }
}

/// The teacher block of a record.
public struct TeacherInfo: Codable, Sendable, Equatable {
    /// Model name as sent.
    public var model: String
    /// Endpoint base URL, without any user:password part.
    public var baseURL: String
    /// Sampling temperature.
    public var temperature: Double
    /// Tokens over all requests for this item (a re-ask included).
    public var usage: TokenUsage
    /// Wall time of the successful attempts, summed, in milliseconds.
    public var latencyMilliseconds: Int
    /// HTTP attempts over all requests for this item.
    public var attempts: Int

    /// The teacher block of one answer.
    public init(model: String, baseURL: String, temperature: Double, usage: TokenUsage, latencyMilliseconds: Int,
                attempts: Int) {
        self.model = model
        self.baseURL = baseURL
        self.temperature = temperature
        self.usage = usage
        self.latencyMilliseconds = latencyMilliseconds
        self.attempts = attempts
    }

    enum CodingKeys: String, CodingKey {
        case model, temperature, usage, attempts
        case baseURL = "base_url"
        case latencyMilliseconds = "latency_ms"
    }
}

/// One line of the failures side file: an item that produced no record, and why.
public struct FailureRecord: Codable, Sendable, Equatable {
    /// The item's id (or "line N" for an input line without one).
    public var id: String
    /// Short kind: `parse`, `http_4xx`, `http_429`, `http_5xx`, `network`, `timeout`, `bad_response`,
    /// `prompt`, `bad_input`.
    public var kind: String
    /// The full reason, naming status, attempts or the parse problem.
    public var reason: String
    /// The teacher's last answer, when there was one.
    public var raw: String?
    /// The first answer, when a re-ask happened.
    public var rawFirst: String?
    /// When it failed (ISO 8601).
    public var time: String

    /// Creates a failure stamped with the current time.
    public init(id: String, kind: String, reason: String, raw: String? = nil, rawFirst: String? = nil) {
        self.id = id
        self.kind = kind
        self.reason = reason
        self.raw = raw
        self.rawFirst = rawFirst
        time = ISO8601DateFormatter().string(from: Date())
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, reason, raw, time
        case rawFirst = "raw_first"
    }
}

extension AlignedSpan {
    enum CodingKeys: String, CodingKey {
        case text, label, score, start, end, match, similarity
    }

    /// Writes `start` and `end` as explicit nulls for unmatched spans, so every span has every key.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(text, forKey: .text)
        try container.encode(label, forKey: .label)
        try container.encode(score, forKey: .score)
        try container.encode(start, forKey: .start)
        try container.encode(end, forKey: .end)
        try container.encode(match, forKey: .match)
        try container.encode(similarity, forKey: .similarity)
    }
}
