import Foundation
import GGUF
import Testing

/// GGUF bytes written field by field, so that tests can put any value in any field.
struct RawGGUF {
    var bytes: [UInt8] = Array("GGUF".utf8)

    init(version: UInt32 = 3, tensors: UInt64, metadata: UInt64) {
        u32(version)
        u64(tensors)
        u64(metadata)
    }

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }
    /// A metadata entry with a uint32 value.
    mutating func keyU32(_ key: String, _ value: UInt32) {
        string(key)
        u32(4)
        u32(value)
    }
    /// A tensor table entry.
    mutating func tensor(_ name: String, dimensions: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        dimensions.forEach { u64($0) }
        u32(type)
        u64(offset)
    }
    mutating func pad(to alignment: Int = 32) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// Opening valid and hostile GGUF files: every malformed field is a `GGUFError` naming the file and the field.
@Suite struct ReaderTests {
    func error(_ raw: RawGGUF) -> GGUFError? {
        do {
            _ = try GGUFFile(bytes: raw.bytes, path: "hostile.gguf")
            return nil
        } catch {
            return error as? GGUFError
        }
    }

    func expectError(_ raw: RawGGUF, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let found = error(raw)
        #expect(found != nil, "accepted a file that should fail with '\(text)'", sourceLocation: sourceLocation)
        if let found {
            #expect(found.description.contains(text), "\(found)", sourceLocation: sourceLocation)
            #expect(found.description.hasPrefix("hostile.gguf"), "\(found)", sourceLocation: sourceLocation)
        }
    }

    @Test func readsTheTinyModel() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("tiny-q8_0.gguf"))
        #expect(file.version == 3)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.int("llama.block_count") == 2)
        #expect(try file.array("tokenizer.ggml.tokens").count == 900)
        let q = try #require(file.info("blk.0.attn_q.weight"))
        #expect(q.type == .q8_0 && q.dimensions == [32, 32] && q.shape == [32, 32])
        #expect(file.info("token_embd.weight")?.shape == [900, 32])
        #expect(file.alignment == 32 && file.dataOffset % 32 == 0)
    }

    @Test func writerRoundTrip() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/round.gguf"
        var writer = GGUFWriter()
        writer.add("general.architecture", .string("test"))
        writer.add("u8", .uint8(7))
        writer.add("i64", .int64(-5))
        writer.add("f64", .float64(0.25))
        writer.add("flag", .bool(true))
        writer.add("names", .array(.string(["a", "", "ü 🙂"])))
        writer.add("scores", .array(.float32([1, -2.5])))
        let values: [Float] = (0..<64).map { Float($0) / 8 - 4 }
        for type in GGMLType.writable {
            writer.addTensor(name: "t.\(type)", shape: [2, 32], type: type) { values }
        }
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        #expect(file.metadata.map(\.key) == ["general.architecture", "u8", "i64", "f64", "flag", "names", "scores"])
        #expect(file["u8"] == .uint8(7) && file["i64"] == .int64(-5) && file["f64"] == .float64(0.25))
        #expect(file["flag"] == .bool(true))
        #expect(file["names"] == .array(.string(["a", "", "ü 🙂"])))
        #expect(file["scores"] == .array(.float32([1, -2.5])))
        for type in GGMLType.writable {
            let info = try #require(file.info("t.\(type)"))
            #expect(info.type == type && info.shape == [2, 32] && info.offset % 32 == 0)
            let back = try file.floats("t.\(type)")
            // Steps of 1/8 within ±4 are exact in every stored type (Q8_0's d = 4/127 rounds each to a multiple).
            let tolerance: Float = type == .q8_0 ? 0.02 : 0
            #expect(zip(back, values).allSatisfy { abs($0 - $1) <= tolerance }, "\(type)")
        }
    }

    @Test func refusesBadMagicAndVersions() {
        var raw = RawGGUF(tensors: 0, metadata: 0)
        raw.bytes[0] = 0x47
        raw.bytes[3] = 0x47
        expectError(raw, containing: "not a GGUF file")
        expectError(RawGGUF(version: 1, tensors: 0, metadata: 0), containing: "GGUF version 1")
        expectError(RawGGUF(version: 0x0300_0000, tensors: 0, metadata: 0), containing: "little-endian")
        var short = RawGGUF(tensors: 0, metadata: 0)
        short.bytes.removeLast(3)
        expectError(short, containing: "truncated")
    }

    @Test func refusesCountsBeyondTheFile() {
        expectError(RawGGUF(tensors: 1 << 40, metadata: 0), containing: "'tensor_count'")
        expectError(RawGGUF(tensors: 0, metadata: .max), containing: "'metadata_kv_count'")
        var key = RawGGUF(tensors: 0, metadata: 1)
        key.u64(.max)
        expectError(key, containing: "metadata key #0")
        var array = RawGGUF(tensors: 0, metadata: 1)
        array.string("tokenizer.ggml.tokens")
        array.u32(9)
        array.u32(8)
        array.u64(1 << 50)
        array.bytes += [UInt8](repeating: 0, count: 64)
        expectError(array, containing: "tokenizer.ggml.tokens (array length)")
        var string = RawGGUF(tensors: 0, metadata: 1)
        string.string("general.name")
        string.u32(8)
        string.u64(1000)
        string.bytes += Array("short".utf8)
        expectError(string, containing: "general.name")
    }

    @Test func refusesMalformedValues() {
        var nested = RawGGUF(tensors: 0, metadata: 1)
        nested.string("a")
        nested.u32(9)
        nested.u32(9)
        nested.u64(1)
        nested.bytes += [UInt8](repeating: 0, count: 16)
        expectError(nested, containing: "nested arrays")
        var type = RawGGUF(tensors: 0, metadata: 1)
        type.string("a")
        type.u32(13)
        type.u32(0)
        expectError(type, containing: "unknown value type 13")
        var utf8 = RawGGUF(tensors: 0, metadata: 1)
        utf8.u64(2)
        utf8.bytes += [0xC0, 0x80]
        utf8.u32(4)
        utf8.u32(0)
        expectError(utf8, containing: "not valid UTF-8")
        var bool = RawGGUF(tensors: 0, metadata: 1)
        bool.string("flag")
        bool.u32(7)
        bool.bytes.append(2)
        expectError(bool, containing: "bool byte 2")
        var duplicate = RawGGUF(tensors: 0, metadata: 2)
        duplicate.keyU32("a", 1)
        duplicate.keyU32("a", 2)
        expectError(duplicate, containing: "appears twice")
        var alignment = RawGGUF(tensors: 0, metadata: 1)
        alignment.keyU32("general.alignment", 24)
        expectError(alignment, containing: "not a power of two")
        var zero = RawGGUF(tensors: 0, metadata: 1)
        zero.keyU32("general.alignment", 0)
        expectError(zero, containing: "general.alignment")
    }

    /// One tensor entry with the given fields, then aligned data of `dataBytes` bytes.
    func oneTensor(dimensions: [UInt64], type: UInt32, offset: UInt64 = 0, dataBytes: Int = 128) -> RawGGUF {
        var raw = RawGGUF(tensors: 1, metadata: 0)
        raw.tensor("w", dimensions: dimensions, type: type, offset: offset)
        raw.pad()
        raw.bytes += [UInt8](repeating: 0, count: dataBytes)
        return raw
    }

    @Test func refusesMalformedTensors() {
        #expect(error(oneTensor(dimensions: [32], type: 0)) == nil)
        expectError(oneTensor(dimensions: [1, 1, 1, 1, 1], type: 0), containing: "5 dimensions")
        expectError(oneTensor(dimensions: [], type: 0), containing: "0 dimensions")
        expectError(oneTensor(dimensions: [1 << 62, 1 << 62], type: 0), containing: "overflow")
        expectError(oneTensor(dimensions: [.max], type: 0), containing: "too large")
        expectError(oneTensor(dimensions: [32], type: 99), containing: "unknown ggml type 99")
        expectError(oneTensor(dimensions: [48], type: 8), containing: "whole Q8_0 blocks")
        expectError(oneTensor(dimensions: [32], type: 0, offset: 8), containing: "not a multiple of the alignment")
        expectError(oneTensor(dimensions: [64], type: 0), containing: "data of tensor 'w'")
        expectError(oneTensor(dimensions: [8], type: 0, offset: 1 << 62), containing: "data of tensor 'w'")
        expectError(oneTensor(dimensions: [32], type: 0, offset: .max - 31), containing: "too large")
        var two = RawGGUF(tensors: 2, metadata: 0)
        two.tensor("a", dimensions: [16], type: 0, offset: 0)
        two.tensor("b", dimensions: [16], type: 0, offset: 32)
        two.pad()
        two.bytes += [UInt8](repeating: 0, count: 128)
        #expect(error(two) != nil)  // a: 64 bytes at 0 overlaps b at 32
        var same = RawGGUF(tensors: 2, metadata: 0)
        same.tensor("a", dimensions: [8], type: 0, offset: 0)
        same.tensor("a", dimensions: [8], type: 0, offset: 32)
        same.pad()
        same.bytes += [UInt8](repeating: 0, count: 128)
        expectError(same, containing: "appears twice")
    }

    @Test func unsupportedTypeIsNamedWhenRead() throws {
        let raw = oneTensor(dimensions: [256], type: 10, dataBytes: 96)  // Q2_K: sized, not decoded
        let file = try GGUFFile(bytes: raw.bytes, path: "q2k.gguf")
        #expect(throws: GGUFError.unsupportedType(path: "q2k.gguf", tensor: "w", type: "Q2_K")) { try file.floats("w") }
        #expect(throws: GGUFError.missingTensor(path: "q2k.gguf", tensor: "v")) { try file.floats("v") }
    }

    @Test func typedMetadataErrorsNameTheKey() throws {
        var raw = RawGGUF(tensors: 0, metadata: 1)
        raw.keyU32("llama.block_count", 2)
        let file = try GGUFFile(bytes: raw.bytes, path: "m.gguf")
        #expect(try file.int("llama.block_count") == 2)
        #expect(throws: GGUFError.missingKey(path: "m.gguf", key: "llama.context_length")) {
            try file.int("llama.context_length")
        }
        #expect(throws: GGUFError.self) { try file.string("llama.block_count") }
    }

    @Test func refusesDirectoriesAndMissingFiles() throws {
        let scratch = try ScratchDirectory()
        #expect(throws: GGUFError.self) { try GGUFFile(path: scratch.path) }
        #expect(throws: GGUFError.self) { try GGUFFile(path: scratch.path + "/absent.gguf") }
    }
}
