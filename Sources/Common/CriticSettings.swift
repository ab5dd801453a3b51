/// Who critiques a response (`--reward`).
public enum RewardSource: String, Codable, Sendable, CaseIterable {
    /// A local generative reward model (`reward_model`, `reward_adapter`).
    case rm
    /// An OpenAI-compatible server of a reward model, asked with the reward model's own prompt (`reward_url`).
    case endpoint
    /// Any OpenAI-compatible LLM, asked with the annotation prompts (`reward_url`).
    case teacher
    /// The built-in task's rule-based teacher: a perfect critic of that task.
    case builtin
}

/// What a generative reward model writes (`train-rm --target`): the format of its answer, not what it knows.
public enum RewardTarget: String, Codable, Sendable, CaseIterable {
    /// Reasoning first (the critique), then each label's verbatim quotes: the paper's format.
    case critiqueSpans = "critique+spans"
    /// The quotes alone, no critique.
    case spans
    /// Every word of the response in order, each tagged with its label's sign (good, poor or neither).
    case dense
}

/// The critic: what writes the critiques whose quoted spans become rewards (`train-policy`), records
/// (`critique`) or predictions to score (`eval-rm`). Saved with the run, so a report can tell the critics' runs
/// apart and a resume cannot switch critics silently.
public struct CriticSettings: SettingsGroup {
    /// The source: a local reward model, an endpoint serving one, a teacher LLM, or the built-in teacher.
    public var source = RewardSource.rm
    /// The local reward model's directory (`reward: rm`), and its LoRA adapter if any.
    public var model: String?
    public var adapter: String?
    /// The base URL up to /v1 of the critic's server (`reward: endpoint` or `teacher`), and the model name sent.
    public var url: String?
    public var modelName = "reward-model"
    /// summarization, qa or code: the task whose span labels the critiques use (unset: the records' own task,
    /// where there are records, else summarization).
    public var task: String?
    /// The critique's budget: new tokens at most.
    public var maxNewTokens = 256
    /// A local reward model may quote text that is not in the response (by default only verbatim substrings).
    public var freeQuotes = false
    /// At most this many quotes per label: a local reward model's decoding, or the builtin teacher's cap (unset:
    /// no limit).
    public var maxQuotes: Int?
    /// Responses critiqued in one generation batch, or requests in flight to an endpoint.
    public var batchSize = 8
    /// The reward model's answer format, for an endpoint serving one; a local reward model's own (saved by
    /// train-rm beside its weights) is used when unset, and must agree when set.
    public var target: RewardTarget?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case source = "reward", model = "reward_model", adapter = "reward_adapter", url = "reward_url"
        case modelName = "reward_model_name", task, maxNewTokens = "critique_max_new_tokens"
        case freeQuotes = "free_quotes", maxQuotes = "max_quotes", batchSize = "critique_batch_size"
        case target = "rm_target"
    }

    public init() {}

    /// The key `critique_max_new_tokens` had before the response budget got one name.
    public static var renamedKeys: [String: String] { ["critique_tokens": "critique_max_new_tokens"] }

    /// Ranges, and what the source needs (a model for `rm`, a URL for `endpoint` and `teacher`).
    public func validate(_ fail: (String) -> Error) throws {
        if maxNewTokens <= 0 || maxNewTokens > 1 << 16 {
            throw fail("'critique_max_new_tokens' must be in 1...\(1 << 16), got \(maxNewTokens)")
        }
        if let maxQuotes, maxQuotes < 0 { throw fail("'max_quotes' must be ≥ 0, got \(maxQuotes)") }
        if batchSize < 1 || batchSize > 1024 { throw fail("'critique_batch_size' must be 1...1024, got \(batchSize)") }
    }

    /// Checks that the source is located: `rm` needs `reward_model`, `endpoint` and `teacher` need `reward_url`.
    public func validateSource(_ fail: (String) -> Error) throws {
        switch source {
        case .rm where model == nil: throw fail("'reward: rm' needs 'reward_model' (--reward-model DIR)")
        case .endpoint where url == nil, .teacher where url == nil:
            throw fail("'reward: \(source.rawValue)' needs 'reward_url' (--reward-url URL)")
        default: return
        }
    }
}
