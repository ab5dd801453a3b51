/// A GGUF file that cannot be read, written or converted, naming the file and the field or tensor.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    /// The file ends inside `field`, which starts at byte `offset` and needs `needed` bytes.
    case truncated(path: String, field: String, offset: Int, needed: Int, fileSize: Int)
    case badMagic(path: String, found: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    /// A metadata value that is malformed or out of bounds (`field` is its key, or the header field).
    case badValue(path: String, field: String, reason: String)
    case duplicateKey(path: String, key: String)
    /// A tensor whose table entry is malformed: dimensions, type, offset or size.
    case badTensor(path: String, tensor: String, reason: String)
    case unsupportedType(path: String, tensor: String, type: String)
    case missingKey(path: String, key: String)
    case wrongType(path: String, key: String, expected: String, found: String)
    case missingTensor(path: String, tensor: String)
    /// A model the converter does not handle (architecture, tokenizer model, pre-tokenizer, a tensor it has).
    case unsupportedModel(path: String, field: String, value: String, hint: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open: \(reason)"
        case let .truncated(path, field, offset, needed, size):
            return "\(path): truncated: \(field) at byte \(offset) needs \(needed) bytes, the file has \(size)"
        case let .badMagic(path, found):
            let text = found.map { String($0, radix: 16) }.joined(separator: " ")
            return "\(path): not a GGUF file (magic bytes \(text), expected 47 47 55 46 'GGUF')"
        case let .unsupportedVersion(path, version):
            return "\(path): GGUF version \(version) is not supported (only 2 and 3, little-endian)"
        case let .badValue(path, field, reason):
            return "\(path): '\(field)': \(reason)"
        case let .duplicateKey(path, key):
            return "\(path): metadata key '\(key)' appears twice"
        case let .badTensor(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .unsupportedType(path, tensor, type):
            return "\(path): tensor '\(tensor)' has type \(type), which cannot be converted to fp32 "
                + "(supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))"
        case let .missingKey(path, key):
            return "\(path): metadata key '\(key)' is missing"
        case let .wrongType(path, key, expected, found):
            return "\(path): metadata key '\(key)' is \(found), expected \(expected)"
        case let .missingTensor(path, tensor):
            return "\(path): no tensor '\(tensor)'"
        case let .unsupportedModel(path, field, value, hint):
            return "\(path): \(field) = '\(value)' is not supported\(hint.isEmpty ? "" : " (\(hint))")"
        case let .cannotWrite(path, reason):
            return "\(path): cannot write: \(reason)"
        }
    }
}
