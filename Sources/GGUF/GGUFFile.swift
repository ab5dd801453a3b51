#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Where one tensor lies in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// ggml's dimensions, fastest-varying first: `dimensions[0]` is the length of a row.
    public let dimensions: [Int]
    /// Byte offset from the start of the data section (a multiple of the file's alignment).
    public let offset: Int
    public let byteCount: Int
    public let elementCount: Int

    /// The row-major shape PyTorch and safetensors use: the dimensions reversed (a (out, in) matrix is [in, out]).
    public var shape: [Int] { dimensions.reversed() }
}

/// A memory-mapped GGUF file (version 2 or 3, little-endian) whose header, metadata and tensor table are fully
/// validated on open.
///
/// Layout: magic `GGUF`, u32 version, u64 tensor count, u64 metadata count; metadata as (string key, u32 type,
/// value); per tensor (string name, u32 dimension count, u64 dimensions, u32 ggml type, u64 offset); padding to
/// `general.alignment` (32 by default); then the data section, each tensor at its offset from the section's start.
/// Strings are a u64 length and UTF-8 bytes; arrays a u32 element type, a u64 count and the elements.
// Unchecked Sendable: read-only after parsing (a mapped file, never written).
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Where the data section starts in the file.
    public let dataOffset: Int
    public let fileSize: Int
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]
    private let base: UnsafeRawPointer
    /// Whether `base` is a mapping to unmap (else an allocation to free).
    private let mapped: Bool

    /// Limits that keep a hostile file from asking for unbounded memory before its size is known to be real.
    public enum Limits {
        /// Elements in one metadata array (Llama 3's vocabulary has 128k tokens, Gemma's 256k).
        public static let arrayLength = 1 << 24
        /// Elements over all metadata arrays.
        public static let totalArrayElements = 1 << 26
        public static let keyLength = 1 << 16
        public static let tensorNameLength = 1 << 10
        public static let tensorCount = 1 << 20
        /// ggml's GGML_MAX_DIMS.
        public static let dimensionCount = 4
    }

    /// Opens and validates `path` (mapped, not read).
    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw GGUFError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 24 else {
            throw GGUFError.truncated(path: path, field: "header", offset: 0, needed: 24, fileSize: size)
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        do {
            let parsed = try Self.parse(base: UnsafeRawPointer(pointer), size: size, path: path)
            (version, metadata, tensors, alignment, dataOffset) = parsed
        } catch {
            munmap(pointer, size)
            throw error
        }
        base = UnsafeRawPointer(pointer)
        mapped = true
        fileSize = size
        metadataIndex = Dictionary(uniqueKeysWithValues: metadata.enumerated().map { ($1.key, $0) })
        tensorIndex = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// Parses and validates GGUF bytes held in memory; `path` names them in errors.
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        let size = bytes.count
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        pointer.copyMemory(from: bytes, byteCount: size)
        do {
            (version, metadata, tensors, alignment, dataOffset) = try Self.parse(base: pointer, size: size, path: path)
        } catch {
            pointer.deallocate()
            throw error
        }
        base = UnsafeRawPointer(pointer)
        mapped = false
        fileSize = size
        metadataIndex = Dictionary(uniqueKeysWithValues: metadata.enumerated().map { ($1.key, $0) })
        tensorIndex = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), fileSize)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    public subscript(key: String) -> GGUFValue? { metadataIndex[key].map { metadata[$0].value } }

    public func info(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The raw bytes of a tensor, straight from the mapping (valid while this object lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = info(name) else { throw GGUFError.missingTensor(path: path, tensor: name) }
        return UnsafeRawBufferPointer(start: base + dataOffset + info.offset, count: info.byteCount)
    }

    /// Converts a tensor to fp32 into `destination`, which must hold `count` = `elementCount` floats.
    public func read(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let info = info(name) else { throw GGUFError.missingTensor(path: path, tensor: name) }
        precondition(count == info.elementCount, "destination of \(count) floats for \(info.elementCount) elements")
        let source = base + dataOffset + info.offset
        guard Dequantize.run(info.type, source: source, count: count, into: destination) else {
            throw GGUFError.unsupportedType(path: path, tensor: name, type: info.type.name)
        }
    }

    /// A tensor converted to fp32.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = info(name) else { throw GGUFError.missingTensor(path: path, tensor: name) }
        guard Dequantize.supports(info.type) else {
            throw GGUFError.unsupportedType(path: path, tensor: name, type: info.type.name)
        }
        return try [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            if let start = buffer.baseAddress { try read(name, into: start, count: info.elementCount) }
            initialized = info.elementCount
        }
    }
}

// MARK: - Typed metadata

extension GGUFFile {
    /// A required string.
    public func string(_ key: String) throws -> String {
        let value = try required(key)
        guard let s = value.stringValue else { throw wrongType(key, "a string", value) }
        return s
    }

    public func optionalString(_ key: String) throws -> String? {
        guard self[key] != nil else { return nil }
        return try string(key)
    }

    /// A required integer of any width.
    public func int(_ key: String) throws -> Int {
        let value = try required(key)
        guard let n = value.intValue else { throw wrongType(key, "an integer", value) }
        return n
    }

    public func optionalInt(_ key: String) throws -> Int? {
        guard self[key] != nil else { return nil }
        return try int(key)
    }

    /// A number of any type (float or integer).
    public func optionalDouble(_ key: String) throws -> Double? {
        guard let value = self[key] else { return nil }
        guard let x = value.doubleValue else { throw wrongType(key, "a number", value) }
        return x
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let value = self[key] else { return nil }
        guard let b = value.boolValue else { throw wrongType(key, "a bool", value) }
        return b
    }

    /// A required array.
    public func array(_ key: String) throws -> GGUFArray {
        let value = try required(key)
        guard let a = value.arrayValue else { throw wrongType(key, "an array", value) }
        return a
    }

    public func optionalArray(_ key: String) throws -> GGUFArray? {
        guard self[key] != nil else { return nil }
        return try array(key)
    }

    private func required(_ key: String) throws -> GGUFValue {
        guard let value = self[key] else { throw GGUFError.missingKey(path: path, key: key) }
        return value
    }

    func wrongType(_ key: String, _ expected: String, _ value: GGUFValue) -> GGUFError {
        .wrongType(path: path, key: key, expected: expected, found: value.summary)
    }
}

// MARK: - Parsing

extension GGUFFile {
    static let magic: [UInt8] = Array("GGUF".utf8)

    static func parse(
        base: UnsafeRawPointer, size: Int, path: String
    ) throws -> (UInt32, [(key: String, value: GGUFValue)], [GGUFTensorInfo], Int, Int) {
        var r = ByteReader(base: base, size: size, path: path)
        let magicStart = try r.skip(4, "magic")
        let found = Array(UnsafeRawBufferPointer(start: base + magicStart, count: 4))
        guard found == magic else { throw GGUFError.badMagic(path: path, found: found) }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(path: path, version: version) }
        // Each tensor entry takes at least 8 + 4 + 8 + 4 + 8 bytes, each metadata entry 8 + 4 + 1.
        let tensorCount = try r.count("tensor_count", limit: min(Limits.tensorCount, r.remaining / 32))
        let metadataCount = try r.count("metadata_kv_count", limit: r.remaining / 13)

        var metadata: [(key: String, value: GGUFValue)] = []
        var keys = Set<String>()
        var budget = Limits.totalArrayElements
        for index in 0..<metadataCount {
            let key = try r.string("metadata key #\(index)", maxLength: Limits.keyLength)
            guard keys.insert(key).inserted else { throw GGUFError.duplicateKey(path: path, key: key) }
            let typeId = try r.u32(key + " (value type)")
            guard let type = GGUFValueType(rawValue: typeId) else {
                throw GGUFError.badValue(path: path, field: key, reason: "unknown value type \(typeId)")
            }
            metadata.append((key, try readValue(type, key: key, reader: &r, budget: &budget)))
        }

        var alignment = 32
        if let entry = metadata.first(where: { $0.key == "general.alignment" }) {
            guard case .uint32(let value) = entry.value else {
                throw GGUFError.wrongType(
                    path: path, key: "general.alignment", expected: "uint32", found: entry.value.summary)
            }
            guard value > 0, value & (value - 1) == 0 else {
                throw GGUFError.badValue(
                    path: path, field: "general.alignment", reason: "\(value) is not a power of two")
            }
            alignment = Int(value)
        }

        var tensors: [GGUFTensorInfo] = []
        var names = Set<String>()
        for index in 0..<tensorCount {
            let info = try readTensorInfo(index: index, reader: &r, alignment: alignment)
            guard names.insert(info.name).inserted else {
                throw GGUFError.badTensor(path: path, tensor: info.name, reason: "the name appears twice")
            }
            tensors.append(info)
        }

        // The data section starts at the next multiple of the alignment; a file without tensors may end before it.
        let padding = (alignment - r.position % alignment) % alignment
        var dataOffset = r.position + min(padding, r.remaining)
        if !tensors.isEmpty {
            dataOffset = try r.skip(padding, "padding before the data section") + padding
        }
        let dataSize = size - dataOffset
        for t in tensors {
            let (end, overflow) = t.offset.addingReportingOverflow(t.byteCount)
            guard !overflow, end <= dataSize else {
                throw GGUFError.truncated(
                    path: path, field: "data of tensor '\(t.name)'", offset: dataOffset &+ t.offset,
                    needed: t.byteCount,
                    fileSize: size)
            }
        }
        let byStart = tensors.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(byStart, byStart.dropFirst())
        where next.offset < previous.offset + previous.byteCount && next.byteCount > 0 {
            throw GGUFError.badTensor(
                path: path, tensor: next.name, reason: "its data overlaps tensor '\(previous.name)'")
        }
        return (version, metadata, tensors, alignment, dataOffset)
    }

    static func readTensorInfo(index: Int, reader r: inout ByteReader, alignment: Int) throws -> GGUFTensorInfo {
        let path = r.path
        let name = try r.string("name of tensor #\(index)", maxLength: Limits.tensorNameLength)
        func bad(_ reason: String) -> GGUFError { .badTensor(path: path, tensor: name, reason: reason) }
        let dimensionCount = try r.u32("dimension count of tensor '\(name)'")
        guard (1...UInt32(Limits.dimensionCount)).contains(dimensionCount) else {
            throw bad("\(dimensionCount) dimensions (1 to \(Limits.dimensionCount) allowed)")
        }
        let raw = try r.array(UInt64.self, count: Int(dimensionCount), "dimensions of tensor '\(name)'")
        var dimensions: [Int] = []
        var elements = 1
        for d in raw {
            guard d <= UInt64(Int.max) else { throw bad("dimension \(d) is too large") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw bad("dimensions \(raw) overflow the element count") }
            elements = product
            dimensions.append(Int(d))
        }
        let typeId = try r.u32("type of tensor '\(name)'")
        let type = GGMLType(id: typeId)
        guard type.isKnown else { throw bad("unknown ggml type \(typeId)") }
        guard dimensions[0] % type.blockSize == 0 else {
            throw bad("rows of \(dimensions[0]) elements are not whole \(type.name) blocks of \(type.blockSize)")
        }
        guard let byteCount = type.byteCount(elements: elements) else {
            throw bad("\(elements) elements of \(type.name) overflow the byte size")
        }
        let offset = try r.u64("offset of tensor '\(name)'")
        guard offset <= UInt64(Int.max) else { throw bad("offset \(offset) is too large") }
        guard Int(offset) % alignment == 0 else {
            throw bad("offset \(offset) is not a multiple of the alignment \(alignment)")
        }
        return GGUFTensorInfo(
            name: name, type: type, dimensions: dimensions, offset: Int(offset), byteCount: byteCount,
            elementCount: elements)
    }

    static func readValue(
        _ type: GGUFValueType, key: String, reader r: inout ByteReader, budget: inout Int
    ) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.load(UInt8.self, key))
        case .int8: return .int8(try r.load(Int8.self, key))
        case .uint16: return .uint16(try r.load(UInt16.self, key))
        case .int16: return .int16(try r.load(Int16.self, key))
        case .uint32: return .uint32(try r.u32(key))
        case .int32: return .int32(try r.load(Int32.self, key))
        case .float32: return .float32(Float(bitPattern: try r.u32(key)))
        case .uint64: return .uint64(try r.u64(key))
        case .int64: return .int64(try r.load(Int64.self, key))
        case .float64: return .float64(Double(bitPattern: try r.u64(key)))
        case .string: return .string(try r.string(key))
        case .bool:
            let byte = try r.load(UInt8.self, key)
            guard byte <= 1 else {
                throw GGUFError.badValue(path: r.path, field: key, reason: "bool byte \(byte) is not 0 or 1")
            }
            return .bool(byte == 1)
        case .array:
            return .array(try readArray(key: key, reader: &r, budget: &budget))
        }
    }

    static func readArray(key: String, reader r: inout ByteReader, budget: inout Int) throws -> GGUFArray {
        let typeId = try r.u32(key + " (array element type)")
        guard let type = GGUFValueType(rawValue: typeId) else {
            throw GGUFError.badValue(path: r.path, field: key, reason: "unknown array element type \(typeId)")
        }
        guard type != .array else {
            throw GGUFError.badValue(path: r.path, field: key, reason: "nested arrays are not supported")
        }
        let count = try r.count(key + " (array length)", limit: min(Limits.arrayLength, r.remaining / type.minimumSize))
        guard count <= budget else {
            throw GGUFError.badValue(
                path: r.path, field: key,
                reason: "metadata arrays hold more than \(Limits.totalArrayElements) elements in all")
        }
        budget -= count
        func element(_ i: Int) -> String { "\(key)[\(i)]" }
        switch type {
        case .uint8: return .uint8(try r.array(UInt8.self, count: count, key))
        case .int8: return .int8(try r.array(Int8.self, count: count, key))
        case .uint16: return .uint16(try r.array(UInt16.self, count: count, key))
        case .int16: return .int16(try r.array(Int16.self, count: count, key))
        case .uint32: return .uint32(try r.array(UInt32.self, count: count, key))
        case .int32: return .int32(try r.array(Int32.self, count: count, key))
        case .uint64: return .uint64(try r.array(UInt64.self, count: count, key))
        case .int64: return .int64(try r.array(Int64.self, count: count, key))
        case .float32: return .float32(try r.array(UInt32.self, count: count, key).map(Float.init(bitPattern:)))
        case .float64: return .float64(try r.array(UInt64.self, count: count, key).map(Double.init(bitPattern:)))
        case .bool:
            let bytes = try r.array(UInt8.self, count: count, key)
            if let i = bytes.firstIndex(where: { $0 > 1 }) {
                throw GGUFError.badValue(path: r.path, field: element(i), reason: "bool byte \(bytes[i]) is not 0 or 1")
            }
            return .bool(bytes.map { $0 == 1 })
        case .string:
            var strings: [String] = []
            strings.reserveCapacity(count)
            for i in 0..<count { strings.append(try r.string(element(i))) }
            return .string(strings)
        case .array:
            throw GGUFError.badValue(path: r.path, field: key, reason: "nested arrays are not supported")
        }
    }
}
