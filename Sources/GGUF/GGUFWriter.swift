#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Writes a GGUF version 3 file: metadata in the order added, then tensors stored as F32, F16, BF16 or Q8_0,
/// each at an offset aligned to 32 bytes (ggml's default, so `general.alignment` is not written).
public struct GGUFWriter {
    public static let alignment = 32

    struct Tensor {
        let name: String
        let dimensions: [Int]
        let type: GGMLType
        let byteCount: Int
        let encode: () throws -> [UInt8]
    }

    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [Tensor] = []

    public init() {}

    /// Adds a metadata entry (a key may be added once).
    public mutating func add(_ key: String, _ value: GGUFValue) {
        precondition(!metadata.contains { $0.0 == key }, "metadata key \(key) added twice")
        metadata.append((key, value))
    }

    /// Adds a tensor of row-major `shape` whose `elements` fp32 values `values()` produces when the file is written
    /// (so a model is encoded one tensor at a time). Q8_0 needs rows that are whole blocks of 32.
    public mutating func addTensor(
        name: String, shape: [Int], type: GGMLType, values: @escaping () throws -> [Float]
    ) {
        precondition(GGMLType.writable.contains(type), "cannot write \(type)")
        precondition(!tensors.contains { $0.name == name }, "tensor \(name) added twice")
        let elements = shape.reduce(1, *)
        precondition((shape.last ?? 1) % type.blockSize == 0, "\(name): rows of \(shape) are not whole \(type) blocks")
        guard let byteCount = type.byteCount(elements: elements) else { preconditionFailure("\(name): size overflows") }
        tensors.append(Tensor(name: name, dimensions: shape.reversed(), type: type, byteCount: byteCount) {
            let floats = try values()
            precondition(floats.count == elements, "\(name): \(floats.count) values for shape \(shape)")
            return floats.withUnsafeBufferPointer { Quantize.encode($0, as: type) }
        })
    }

    /// Writes the file to `path` (replacing it).
    public func write(to path: String) throws {
        var header: [UInt8] = Array("GGUF".utf8)
        append(UInt32(3), to: &header)
        append(UInt64(tensors.count), to: &header)
        append(UInt64(metadata.count), to: &header)
        for (key, value) in metadata {
            appendString(key, to: &header)
            append(value.type.rawValue, to: &header)
            appendValue(value, to: &header)
        }
        var offset = 0
        for t in tensors {
            appendString(t.name, to: &header)
            append(UInt32(t.dimensions.count), to: &header)
            for d in t.dimensions { append(UInt64(d), to: &header) }
            append(t.type.id, to: &header)
            append(UInt64(offset), to: &header)
            offset += Self.padded(t.byteCount)
        }
        header += [UInt8](repeating: 0, count: Self.padded(header.count) - header.count)

        guard let file = fopen(path, "wb") else {
            throw GGUFError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        var ok = fwrite(header, 1, header.count, file) == header.count
        do {
            for t in tensors where ok {
                var bytes = try t.encode()
                bytes += [UInt8](repeating: 0, count: Self.padded(bytes.count) - bytes.count)
                ok = fwrite(bytes, 1, bytes.count, file) == bytes.count
            }
        } catch {
            fclose(file)
            throw error
        }
        ok = fflush(file) == 0 && ok
        let reason = String(cString: strerror(errno))
        fclose(file)
        guard ok else { throw GGUFError.cannotWrite(path: path, reason: reason) }
    }

    static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        append(UInt64(bytes.count), to: &out)
        out += bytes
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .bool(let v): append(UInt8(v ? 1 : 0), to: &out)
        case .string(let v): appendString(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .array(let a):
            append(a.elementType.rawValue, to: &out)
            append(UInt64(a.count), to: &out)
            switch a {
            case .uint8(let v): v.forEach { append($0, to: &out) }
            case .int8(let v): v.forEach { append($0, to: &out) }
            case .uint16(let v): v.forEach { append($0, to: &out) }
            case .int16(let v): v.forEach { append($0, to: &out) }
            case .uint32(let v): v.forEach { append($0, to: &out) }
            case .int32(let v): v.forEach { append($0, to: &out) }
            case .float32(let v): v.forEach { append($0.bitPattern, to: &out) }
            case .bool(let v): v.forEach { append(UInt8($0 ? 1 : 0), to: &out) }
            case .string(let v): v.forEach { appendString($0, to: &out) }
            case .uint64(let v): v.forEach { append($0, to: &out) }
            case .int64(let v): v.forEach { append($0, to: &out) }
            case .float64(let v): v.forEach { append($0.bitPattern, to: &out) }
            }
        }
    }
}
