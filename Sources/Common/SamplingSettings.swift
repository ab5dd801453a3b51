/// How a local model samples a response: the distribution each token is drawn from, and its length.
public struct SamplingSettings: SettingsGroup {
    /// Softmax temperature; 0 picks the most likely token (greedy).
    public var temperature = 0.0
    /// Nucleus sampling: keep the most likely tokens up to this probability mass (1: all).
    public var topP = 1.0
    /// Keep the k most likely tokens (0: all).
    public var topK = 0
    /// The response budget: new tokens at most (`--max-new-tokens` in every command).
    public var maxNewTokens = 128
    /// End of sequence (and stop strings) are not taken before this many new tokens.
    public var minNewTokens = 0

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case temperature, topP = "top_p", topK = "top_k", maxNewTokens = "max_new_tokens"
        case minNewTokens = "min_new_tokens"
    }

    public init() {}

    public func validate(_ fail: (String) -> Error) throws {
        if !(temperature.isFinite && temperature >= 0) { throw fail("'temperature' must be ≥ 0, got \(temperature)") }
        if !(topP > 0 && topP <= 1) { throw fail("'top_p' must be in (0, 1], got \(topP)") }
        if topK < 0 { throw fail("'top_k' must be ≥ 0, got \(topK)") }
        if maxNewTokens <= 0 { throw fail("'max_new_tokens' must be positive, got \(maxNewTokens)") }
        if minNewTokens < 0 || minNewTokens > maxNewTokens {
            throw fail("'min_new_tokens' must be in 0...max_new_tokens (\(maxNewTokens)), got \(minNewTokens)")
        }
    }
}
