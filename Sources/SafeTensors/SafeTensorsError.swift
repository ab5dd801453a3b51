/// A safetensors file or sharded checkpoint that cannot be read, naming the file and the tensor.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, reason: String)
    case headerPastEnd(path: String, headerLength: UInt64, fileSize: Int)
    case badHeader(path: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case shapeMismatch(path: String, tensor: String, shape: [Int], dtype: String, byteCount: Int)
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case overlapping(path: String, tensor: String, other: String)
    case missingTensor(name: String, location: String)
    case badIndex(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open: \(reason)"
        case let .truncated(path, reason):
            return "\(path): truncated file: \(reason)"
        case let .headerPastEnd(path, length, size):
            return "\(path): header length \(length) runs past the end of the \(size)-byte file (truncated or not safetensors)"
        case let .badHeader(path, reason):
            return "\(path): bad header JSON: \(reason)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); only F32, F16 and BF16 convert to fp32"
        case let .shapeMismatch(path, tensor, shape, dtype, bytes):
            return "\(path): tensor '\(tensor)' of shape \(shape) and dtype \(dtype) needs a different size than its \(bytes) bytes"
        case let .offsetsOutOfRange(path, tensor, begin, end, size):
            return "\(path): tensor '\(tensor)' data_offsets [\(begin), \(end)] fall outside the \(size)-byte data section"
        case let .overlapping(path, tensor, other):
            return "\(path): tensor '\(tensor)' overlaps tensor '\(other)'"
        case let .missingTensor(name, location):
            return "tensor '\(name)' is not in \(location)"
        case let .badIndex(path, reason):
            return "\(path): \(reason)"
        case let .cannotWrite(path, reason):
            return "\(path): cannot write: \(reason)"
        }
    }
}
