import Common

/// Everything `text2grad critique` needs: the critic group and the files; defaults, then YAML, then flags.
public struct CritiqueConfig: RunConfiguration, Equatable {
    /// The reward model (or endpoint, teacher, built-in teacher) that critiques, and how.
    public var critic = CriticSettings()
    /// Pairs JSONL with id, prompt and response (annotation records work too).
    public var input = ""
    /// Output JSONL of annotation records; unparsed answers go to `<output>.failures.jsonl`.
    public var output = ""
    /// A tokenizer directory for each record's per-token scores (default: none).
    public var tokenizer: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case critic, input, output, tokenizer
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.critic, CriticSettings.self)]
    }

    public init() {}

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "critique", detail: reason) }
        if input.isEmpty { throw fail("'input' is required (-i FILE)") }
        if output.isEmpty { throw fail("'output' is required (-o FILE)") }
        try critic.validate(fail)
        try critic.validateSource(fail)
    }
}

/// Everything `text2grad eval-rm` needs: the critic group (unless `predictions` are given) and the records.
public struct EvalRMConfig: RunConfiguration, Equatable {
    /// The reward model under evaluation.
    public var critic = CriticSettings()
    /// The gold annotation records (the teacher's).
    public var annotations = ""
    /// Critiques already made (annotation records, `critique`'s output) to score instead of running the critic.
    public var predictions: String?
    /// The held-out fraction train-rm used (the same stable hash of the id picks the same records).
    public var evalFraction = 0.1
    /// Score every record, not only the held-out ones.
    public var all = false
    /// The tokenizer of the token metrics (default: the reward model's).
    public var tokenizer: String?
    /// One JSON line per record (default: none).
    public var output: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case critic, annotations, predictions, evalFraction = "eval_fraction", all, tokenizer, output
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.critic, CriticSettings.self)]
    }

    public init() {}

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "eval-rm", detail: reason) }
        if annotations.isEmpty { throw fail("'annotations' is required (--annotations FILE)") }
        if !(0..<1).contains(evalFraction) { throw fail("'eval_fraction' must be in [0, 1)") }
        try critic.validate(fail)
        if predictions == nil { try critic.validateSource(fail) }
    }
}
