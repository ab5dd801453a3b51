/// The model a command loads and the threads it runs on.
public struct ModelSettings: SettingsGroup {
    /// A Hugging Face model directory (config.json, safetensors, tokenizer.json), or a GGUF file given as a flag.
    public var path = ""
    /// Engine threads: matrix products and kernels (default: every core of the machine).
    public var threads = Machine.defaultThreadCount

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case path = "model", threads
    }

    public init() {}

    /// `model` must be given and `threads` positive.
    public func validate(requireModel: Bool = true, _ fail: (String) -> Error) throws {
        if requireModel && path.isEmpty { throw fail("'model' is required") }
        if threads <= 0 { throw fail("'threads' must be positive, got \(threads)") }
    }
}

/// How a local model decodes (generation, rollouts, a local critic's critiques).
public struct DecodingSettings: SettingsGroup {
    /// The precision decode steps read the frozen matrices in; log-probabilities for training stay fp32.
    public var weights = DecodePrecision.auto

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case weights
    }

    public init() {}
}

/// The precision a model's frozen matrices are read in by decode steps (generation, rollouts, `serve`).
public enum DecodePrecision: String, Codable, Sendable, CaseIterable {
    /// bf16 when the checkpoint stores its matrices in bf16 (they were widened on load), else fp32.
    case auto
    /// bf16 copies: half the bytes per decode step; every product still accumulates in fp32.
    case bf16
    /// The fp32 parameters themselves.
    case fp32
}
