/// A model directory or input the engine cannot use, naming the file, field or tensor.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case badConfig(path: String, reason: String)
    case unsupportedModelType(path: String, modelType: String)
    case unsupportedConfig(path: String, field: String, value: String, hint: String)
    case missingTensor(name: String, directory: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int], directory: String)
    case tokenOutOfRange(sequence: Int, position: Int, id: Int, vocabSize: Int)
    case badInput(reason: String)

    public var description: String {
        switch self {
        case let .badConfig(path, reason):
            return "\(path): \(reason)"
        case let .unsupportedModelType(path, type):
            return "\(path): model_type '\(type)' is not supported (supported: \(LlamaConfig.supportedModelTypes.joined(separator: ", ")))"
        case let .unsupportedConfig(path, field, value, hint):
            return "\(path): \(field) = \(value) is not supported\(hint.isEmpty ? "" : ": " + hint)"
        case let .missingTensor(name, directory):
            return "\(directory): the checkpoint has no tensor '\(name)'"
        case let .shapeMismatch(name, expected, found, directory):
            return "\(directory): tensor '\(name)' has shape \(found), the config implies \(expected)"
        case let .tokenOutOfRange(sequence, position, id, vocab):
            return "sequence \(sequence), position \(position): token id \(id) is outside the vocabulary of \(vocab)"
        case let .badInput(reason):
            return reason
        }
    }
}
