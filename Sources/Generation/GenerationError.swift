/// Why a generation request cannot run, with what was wrong.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)
    case emptyPrompt(sequence: Int)
    case contextTooLong(sequence: Int, promptTokens: Int, maxNewTokens: Int, limit: Int)
    case needsTokenizer(String)

    public var description: String {
        switch self {
        case let .invalidParameter(reason):
            return reason
        case let .emptyPrompt(sequence):
            return "prompt \(sequence) is empty (and the tokenizer has no BOS token to start from)"
        case let .contextTooLong(sequence, prompt, new, limit):
            return "prompt \(sequence): \(prompt) prompt tokens + \(new) new tokens exceed the context of \(limit)"
        case let .needsTokenizer(what):
            return "\(what) needs a tokenizer"
        }
    }
}
