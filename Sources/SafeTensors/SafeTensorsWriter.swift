import JSON
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Writes fp32 tensors (optionally stored as BF16) as one safetensors file that PyTorch's `safetensors` reads.
public enum SafeTensorsWriter {
    /// One tensor to write: its checkpoint name, shape and `shape.product` fp32 values.
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>

        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Writes `entries` in order to `path` (replacing it), with string `metadata` under `__metadata__`.
    public static func write(
        _ entries: [Entry], metadata: [String: String] = [:], dtype: DType = .f32, to path: String
    ) throws {
        precondition(dtype == .f32 || dtype == .bf16, "the writer stores F32 or BF16")
        var names = Set<String>()
        var header: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.sorted { $0.key < $1.key }.map { "\(JSONValue.quoted($0.key)):\(JSONValue.quoted($0.value))" }
            header.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for entry in entries {
            precondition(names.insert(entry.name).inserted, "duplicate tensor name \(entry.name)")
            let size = entry.values.count * dtype.byteSize
            let shape = entry.shape.map(String.init).joined(separator: ",")
            header.append(
                "\(JSONValue.quoted(entry.name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var headerBytes = Array("{\(header.joined(separator: ","))}".utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        guard let file = fopen(path, "wb") else {
            throw SafeTensorsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        var ok = true
        var length = UInt64(headerBytes.count).littleEndian
        ok = ok && fwrite(&length, 8, 1, file) == 1
        ok = ok && fwrite(headerBytes, 1, headerBytes.count, file) == headerBytes.count
        for entry in entries where ok && entry.values.count > 0 {
            switch dtype {
            case .bf16:
                let halves = entry.values.map { bfloat16FromFloat($0).littleEndian }
                ok = fwrite(halves, 2, halves.count, file) == halves.count
            default:
                ok = fwrite(entry.values.baseAddress, 4, entry.values.count, file) == entry.values.count
            }
        }
        ok = fflush(file) == 0 && ok
        let reason = String(cString: strerror(errno))
        fclose(file)
        guard ok else { throw SafeTensorsError.cannotWrite(path: path, reason: reason) }
    }
}
