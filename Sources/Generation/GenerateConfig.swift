import Common

/// Everything `text2grad generate` needs: the model, decoding and sampling groups and what to answer; defaults,
/// then YAML (`--config`), then flags.
public struct GenerateConfig: RunConfiguration, Equatable {
    /// The model and the engine's threads.
    public var model = ModelSettings()
    /// The precision decoding reads the matrices in.
    public var decoding = DecodingSettings()
    /// Temperature, top-p/k and the response budget (greedy and 128 new tokens by default).
    public var sampling = SamplingSettings()
    /// A LoRA adapter directory (PEFT format), folded into the weights.
    public var adapter: String?
    /// One prompt to answer, streamed to standard output.
    public var prompt: String?
    /// A JSONL file of {"prompt"} or {"messages"} lines; one JSON line per result.
    public var input: String?
    /// Where the results of `input` go (default: standard output).
    public var output: String?
    /// A system message put before each prompt in chat mode.
    public var system: String?
    /// Use prompt text as is, without the chat template.
    public var raw = false
    /// Prompts generated together in one batch.
    public var batchSize = 8
    /// A penalty > 1 for tokens already in the prompt or output.
    public var repetitionPenalty = 1.0
    /// The sampling seed: the same seed gives the same text (unset: a random one).
    public var seed: UInt64?
    /// Texts that end a response; it is cut before the first one.
    public var stop: [String] = []
    /// Token ids that end a response, besides the model's end-of-sequence ids.
    public var stopIds: [Int] = []

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case model, decoding, sampling, adapter, prompt, input, output, system, raw, batchSize = "batch_size"
        case repetitionPenalty = "repetition_penalty", seed, stop, stopIds = "stop_ids"
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.model, ModelSettings.self), (.decoding, DecodingSettings.self), (.sampling, SamplingSettings.self)]
    }

    public init() {}

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "generate", detail: reason) }
        try model.validate(fail)
        if (prompt == nil) == (input == nil) { throw fail("give exactly one of 'prompt' and 'input'") }
        if batchSize <= 0 { throw fail("'batch_size' must be positive, got \(batchSize)") }
        try sampling.validate(fail)
        do { try parameters.validate() } catch { throw fail("\(error)") }
    }

    /// The sampler's parameters these settings describe.
    public var parameters: SamplingParameters {
        var p = SamplingParameters(sampling)
        p.repetitionPenalty = Float(repetitionPenalty)
        p.seed = seed
        p.stopStrings = stop
        p.stopTokenIds = stopIds
        return p
    }
}

extension SamplingParameters {
    /// Temperature, top-p/k and the length bounds of a sampling group.
    public init(_ settings: SamplingSettings) {
        self.init()
        temperature = Float(settings.temperature)
        topP = Float(settings.topP)
        topK = settings.topK
        maxNewTokens = settings.maxNewTokens
        minNewTokens = settings.minNewTokens
    }
}
