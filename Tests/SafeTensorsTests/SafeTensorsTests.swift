import Foundation
import SafeTensors
import Testing

/// Reading, writing and rejecting safetensors files. Malformed files are written byte by byte here.
@Suite struct SafeTensorsTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "safetensors-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A file with the given header text (padded to 8 bytes) followed by `data`.
    func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil, name: String = "t.safetensors") throws -> String {
        try file(headerBytes: Array(header.utf8), data: data, declaredLength: declaredLength, name: name)
    }

    /// A file with the given header bytes (padded to 8 bytes) followed by `data`.
    func file(headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil, name: String = "t.safetensors") throws -> String {
        var headerBytes = headerBytes
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian, Array.init)
        bytes += headerBytes + data
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func openError(_ path: String) -> SafeTensorsError? {
        do {
            _ = try SafeTensorsFile(path: path)
            return nil
        } catch {
            return error as? SafeTensorsError
        }
    }

    @Test func writesAndReadsBackF32AndBF16() throws {
        let a: [Float] = [1, -2.5, 3.25, 0, 1e-8, -7]
        let b: [Float] = [0.1, 0.2, 0.3]
        for dtype in [DType.f32, .bf16] {
            let path = directory + "/round-\(dtype.rawValue).safetensors"
            try a.withUnsafeBufferPointer { ap in
                try b.withUnsafeBufferPointer { bp in
                    try SafeTensorsWriter.write(
                        [.init(name: "layer.a", shape: [2, 3], values: ap), .init(name: "b \"quoted\"", shape: [3], values: bp)],
                        metadata: ["format": "pt"], dtype: dtype, to: path)
                }
            }
            let file = try SafeTensorsFile(path: path)
            #expect(file.tensors.map(\.name) == ["layer.a", "b \"quoted\""])
            #expect(file.info("layer.a")?.shape == [2, 3])
            #expect(file.metadata == ["format": "pt"])
            let tolerance: Float = dtype == .f32 ? 0 : 0.004
            #expect(zip(try file.floats("layer.a"), a).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) })
            #expect(zip(try file.floats("b \"quoted\""), b).allSatisfy { abs($0 - $1) <= tolerance })
        }
    }

    @Test func convertsHalfAndBFloat16Exactly() {
        #expect(floatFromHalf(0x3C00) == 1)
        #expect(floatFromHalf(0xC000) == -2)
        #expect(floatFromHalf(0x0001) == Float(5.960_464_5e-8))  // smallest subnormal
        #expect(floatFromHalf(0x7C00) == .infinity)
        #expect(floatFromHalf(0x7E00).isNaN)
        #expect(floatFromHalf(0x7BFF) == 65504)
        #expect(floatFromBFloat16(0x3F80) == 1)
        #expect(bfloat16FromFloat(1.00390625) == 0x3F80, "ties round to even")
        #expect(bfloat16FromFloat(1.01171875) == 0x3F82, "ties round to even, upward")
    }

    @Test func readsF16Tensors() throws {
        let path = try file(header: #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0x00, 0x3C, 0x00, 0xC0])
        #expect(try SafeTensorsFile(path: path).floats("h") == [1, -2])
    }

    @Test func truncatedFilesAreRejected() throws {
        let tiny = directory + "/tiny.safetensors"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        guard case .truncated? = openError(tiny) else { Issue.record("fewer than 8 bytes"); return }
        // The header promises 16 bytes of data, the file stops after 8.
        let cut = try file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: Array(repeating: 0, count: 8))
        guard case let .truncated(path, reason)? = openError(cut) else { Issue.record("data cut short"); return }
        #expect(path == cut && reason.contains("'w'"))
    }

    @Test func headerLengthPastTheEndIsRejected() throws {
        let path = try file(header: "{}", declaredLength: 1 << 40)
        guard case .headerPastEnd? = openError(path) else { Issue.record("expected headerPastEnd"); return }
    }

    @Test func badHeaderJSONIsRejected() throws {
        for header in ["{not json", #"["a"]"#, #"{"w":{"dtype":"F32","shape":[1]}}"#, #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#] {
            guard case .badHeader? = openError(try file(header: header)) else { Issue.record("accepted \(header)"); continue }
        }
    }

    /// A key, a value or the metadata with bytes that are not UTF-8 (a truncated sequence, an overlong encoding,
    /// a UTF-16 surrogate) is a bad header that says so, not a crash or a name with replacement characters.
    @Test func headerWithInvalidUTF8IsRejected() throws {
        let entry = Array(#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#.utf8)
        let headers: [[UInt8]] = [
            Array(#"{"w"#.utf8) + [0xC3, 0x28] + Array(#"":"#.utf8) + entry + [0x7D],
            Array(#"{"w":{"dtype":"F3"#.utf8) + [0xC0, 0xB2] + Array(#"","shape":[1],"data_offsets":[0,4]}}"#.utf8),
            Array(#"{"__metadata__":{"k":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""},"w":"#.utf8) + entry + [0x7D],
        ]
        for header in headers {
            let path = try file(headerBytes: header, data: [0, 0, 0, 0])
            guard case let .badHeader(badPath, reason)? = openError(path) else {
                Issue.record("accepted or misreported \(header)"); continue
            }
            #expect(badPath == path && reason.contains("UTF-8"), "\(reason)")
        }
    }

    @Test func unknownDTypeIsRejected() throws {
        let path = try file(header: #"{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        #expect(openError(path) == .unknownDType(path: path, tensor: "w", dtype: "F17"))
    }

    @Test func integerTensorsOpenButDoNotConvert() throws {
        let path = try file(header: #"{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))
        let file = try SafeTensorsFile(path: path)
        #expect(throws: SafeTensorsError.unsupportedDType(path: path, tensor: "i", dtype: "I64")) { try file.floats("i") }
    }

    @Test func shapeThatDoesNotMatchTheByteCountIsRejected() throws {
        let path = try file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))
        #expect(openError(path) == .shapeMismatch(path: path, tensor: "w", shape: [3], dtype: "F32", byteCount: 8))
    }

    @Test func offsetsOutOfRangeAreRejected() throws {
        let path = try file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: Array(repeating: 0, count: 8))
        guard case .offsetsOutOfRange(_, "w", 8, 4, 8)? = openError(path) else { Issue.record("expected offsetsOutOfRange"); return }
    }

    @Test func overlappingTensorsAreRejected() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let path = try file(header: header, data: Array(repeating: 0, count: 12))
        #expect(openError(path) == .overlapping(path: path, tensor: "b", other: "a"))
    }

    @Test func duplicateNamesAreRejected() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        guard case let .badHeader(_, reason)? = openError(try file(header: header, data: Array(repeating: 0, count: 8))) else {
            Issue.record("expected a duplicate-key error"); return
        }
        #expect(reason.contains("duplicate key \"a\""))
    }

    @Test func shardedCheckpointsResolveEveryTensor() throws {
        let one: [Float] = [1, 2], two: [Float] = [3]
        try one.withUnsafeBufferPointer {
            try SafeTensorsWriter.write([.init(name: "x", shape: [2], values: $0)], to: directory + "/s-1.safetensors")
        }
        try two.withUnsafeBufferPointer {
            try SafeTensorsWriter.write([.init(name: "y", shape: [1], values: $0)], to: directory + "/s-2.safetensors")
        }
        let index = #"{"metadata":{},"weight_map":{"x":"s-1.safetensors","y":"s-2.safetensors"}}"#
        try index.write(toFile: directory + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        #expect(try checkpoint.floats("x") == one && checkpoint.floats("y") == two)
        #expect(Set(checkpoint.names) == ["x", "y"])

        // An index that names a tensor its shard does not hold.
        let broken = #"{"weight_map":{"x":"s-1.safetensors","z":"s-1.safetensors"}}"#
        try broken.write(toFile: directory + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(directory: directory) }
        // An index that names a missing shard.
        let missing = #"{"weight_map":{"x":"nowhere.safetensors"}}"#
        try missing.write(toFile: directory + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(directory: directory) }
    }

    @Test func aDirectoryWithoutWeightsIsAClearError() throws {
        do {
            _ = try SafeTensorsCheckpoint(directory: directory)
            Issue.record("opened a directory without weights")
        } catch let SafeTensorsError.cannotOpen(path, reason) {
            #expect(path == directory && reason.contains("model.safetensors"))
        }
    }
}
