import JSON
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Where one tensor lies in a safetensors file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public let dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// The safetensors format's own limit on the header (100 MB).
let maxHeaderBytes: UInt64 = 100_000_000

/// A memory-mapped safetensors file whose header has been fully validated on open.
///
/// Format: 8-byte little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the data.
// Unchecked Sendable: read-only after opening (a mapped file, never written).
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    /// Tensors in header order.
    public let tensors: [TensorInfo]
    public let metadata: [String: String]
    private let index: [String: Int]
    private let base: UnsafeRawPointer
    private let fileSize: Int
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file")
        }
        fileSize = Int(info.st_size)
        guard fileSize >= 8 else {
            throw SafeTensorsError.truncated(path: path, reason: "\(fileSize) bytes, fewer than the 8-byte header length")
        }
        guard let mapped = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        do {
            (tensors, metadata, dataStart) = try Self.parseHeader(base: base, fileSize: fileSize, path: path)
        } catch {
            munmap(mapped, fileSize)
            throw error
        }
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }

    public func info(_ name: String) -> TensorInfo? { index[name].map { tensors[$0] } }

    /// Converts a tensor to fp32 into `destination`, which must hold `elementCount` floats.
    public func read(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let info = info(name) else { throw SafeTensorsError.missingTensor(name: name, location: path) }
        precondition(count == info.elementCount, "destination of \(count) floats for \(info.elementCount) elements")
        let source = base + dataStart + info.dataOffsets.lowerBound
        switch info.dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for i in 0..<count { destination[i] = floatFromBFloat16(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .f16:
            for i in 0..<count { destination[i] = floatFromHalf(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        default:
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
    }

    /// A tensor converted to fp32.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = info(name) else { throw SafeTensorsError.missingTensor(name: name, location: path) }
        var values = [Float](repeating: 0, count: info.elementCount)
        try values.withUnsafeMutableBufferPointer { try read(name, into: $0.baseAddress!, count: info.elementCount) }
        return values
    }

    static func parseHeader(
        base: UnsafeRawPointer, fileSize: Int, path: String
    ) throws -> ([TensorInfo], [String: String], Int) {
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(fileSize - 8) else {
            throw SafeTensorsError.headerPastEnd(path: path, headerLength: headerLength, fileSize: fileSize)
        }
        guard headerLength <= maxHeaderBytes else {
            throw SafeTensorsError.badHeader(path: path, reason: "header of \(headerLength) bytes, more than \(maxHeaderBytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = fileSize - dataStart
        let headerBytes = Array(UnsafeRawBufferPointer(start: base + 8, count: Int(headerLength)))
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw SafeTensorsError.badHeader(path: path, reason: "the header is not valid UTF-8")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(headerBytes)
        } catch let error as JSONParseError {
            throw SafeTensorsError.badHeader(path: path, reason: error.description)
        }
        guard let members = json.objectValue else {
            throw SafeTensorsError.badHeader(path: path, reason: "the header is not a JSON object")
        }
        var tensors: [TensorInfo] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                for (key, entry) in value.objectValue ?? [] { metadata[key] = entry.stringValue }
                continue
            }
            tensors.append(try parseEntry(name: name, value: value, path: path, dataSize: dataSize))
        }
        let byStart = tensors.sorted { $0.dataOffsets.lowerBound < $1.dataOffsets.lowerBound }
        for (previous, next) in zip(byStart, byStart.dropFirst())
        where next.dataOffsets.lowerBound < previous.dataOffsets.upperBound && !next.dataOffsets.isEmpty {
            throw SafeTensorsError.overlapping(path: path, tensor: next.name, other: previous.name)
        }
        return (tensors, metadata, dataStart)
    }

    static func parseEntry(name: String, value: JSONValue, path: String, dataSize: Int) throws -> TensorInfo {
        guard let dtypeName = value["dtype"]?.stringValue else {
            throw SafeTensorsError.badHeader(path: path, reason: "tensor '\(name)' has no string 'dtype'")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = value["shape"]?.arrayValue else {
            throw SafeTensorsError.badHeader(path: path, reason: "tensor '\(name)' has no 'shape' array")
        }
        let shape = shapeValues.compactMap(\.intValue)
        guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw SafeTensorsError.badHeader(path: path, reason: "tensor '\(name)' has a shape that is not non-negative integers")
        }
        guard let offsets = value["data_offsets"]?.arrayValue?.compactMap(\.intValue), offsets.count == 2 else {
            throw SafeTensorsError.badHeader(path: path, reason: "tensor '\(name)' needs 'data_offsets' [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            if end > dataSize && begin >= 0 && begin <= end {
                throw SafeTensorsError.truncated(
                    path: path, reason: "tensor '\(name)' ends at data byte \(end) but the data section has \(dataSize) bytes")
            }
            throw SafeTensorsError.offsetsOutOfRange(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        var elements = 1, overflow = false
        for size in shape + [dtype.byteSize] {
            let (product, over) = elements.multipliedReportingOverflow(by: size)
            elements = product
            overflow = overflow || over
        }
        guard !overflow, elements == end - begin else {
            throw SafeTensorsError.shapeMismatch(path: path, tensor: name, shape: shape, dtype: dtypeName, byteCount: end - begin)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }
}
