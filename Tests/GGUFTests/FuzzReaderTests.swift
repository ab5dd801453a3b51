import Foundation
import FuzzSupport
import GGUF
import Testing

/// Seeded mutations of valid GGUF files: every one is either refused with a `GGUFError` or read completely
/// (metadata and every tensor that converts), never a crash or a hang.
@Suite struct FuzzReaderTests {
    /// The shared byte and line mutations, plus GGUF-shaped ones: a count, length, type or offset field in the
    /// header region overwritten with a hostile value.
    struct GGUFMutator {
        var base: Mutator

        mutating func mutate(_ file: [UInt8], headerEnd: Int) -> (bytes: [UInt8], change: String) {
            guard base.below(2) == 0 else {
                let (data, change) = base.mutate(Data(file))
                return ([UInt8](data), change)
            }
            var bytes = file
            let at = base.below(max(1, headerEnd - 8))
            let values: [UInt64] = [
                0, 1, 3, 4, 9, 13, 31, 32, 255, 1 << 31, 1 << 32, 1 << 40, .max, .max - 7, 0x8000_0000_0000_0000,
            ]
            let value = values[base.below(values.count)]
            let width = base.below(2) == 0 ? 4 : 8
            for k in 0..<width where at + k < bytes.count {
                bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * k))
            }
            return (bytes, "\(width) bytes at \(at) set to \(value)")
        }
    }

    func readEverything(_ bytes: [UInt8]) throws {
        let file = try GGUFFile(bytes: bytes, path: "fuzz.gguf")
        for (key, _) in file.metadata { _ = file[key] }
        for tensor in file.tensors where GGMLType.dequantizable.contains(tensor.type) {
            let values = try file.floats(tensor.name)
            #expect(values.count == tensor.elementCount)
        }
    }

    @Test(arguments: [
        ("quants/q4_k.gguf", UInt64(1)), ("quants/q5_0.gguf", 2), ("vocab-gpt-2.gguf", 3), ("tiny-q8_0.gguf", 4),
    ])
    func mutationsAreRefusedOrRead(_ name: String, _ seed: UInt64) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: GGUFFixtures.path(name))))
        let headerEnd = try GGUFFile(bytes: original, path: name).dataOffset
        var mutator = GGUFMutator(base: Mutator(seed: seed))
        var accepted = 0, refused = 0
        for number in 0..<100 {
            let (bytes, change) = mutator.mutate(original, headerEnd: headerEnd)
            do {
                try readEverything(bytes)
                accepted += 1
            } catch let error as GGUFError {
                #expect(error.description.hasPrefix("fuzz.gguf"), "\(error)")
                refused += 1
            } catch {
                Issue.record(
                    "\(name) seed \(seed) case \(number) (\(change)): untyped error \(type(of: error)): \(error)")
            }
        }
        #expect(accepted + refused == 100)
        #expect(refused > 0)
    }
}
