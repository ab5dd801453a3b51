import Foundation
import GGUF
import Testing

/// Every block format against gguf-py's `quants.dequantize` on random blocks, and the writer's encodings against
/// gguf-py's `quants.quantize`. Tolerance: none (bit-identical fp32 values and bytes).
@Suite struct DequantizeTests {
    @Test(arguments: GGUFFixtures.quantNames)
    func matchesGGUFPy(_ name: String) throws {
        let file = try GGUFFile(path: GGUFFixtures.path("quants/\(name).gguf"))
        let x = try #require(file.info("x"))
        #expect(x.type.name.lowercased() == name)
        #expect(x.shape == [2, 512])
        let ours = try file.floats("x"), expected = try file.floats("expected")
        var worst: Float = 0
        for (a, b) in zip(ours, expected) where a != b { worst = max(worst, abs(a - b)) }
        #expect(ours.count == expected.count)
        #expect(worst == 0, "\(name): max |ours − gguf-py| = \(worst)")
        #expect(zip(ours, expected).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
    }

    @Test(arguments: ["f32", "f16", "bf16", "q8_0"])
    func encodesAsGGUFPy(_ name: String) throws {
        let file = try GGUFFile(path: GGUFFixtures.path("quants/\(name).gguf"))
        let source = try file.floats("source")
        let type = try #require(GGMLType(name: name))
        let ours = source.withUnsafeBufferPointer { Quantize.encode($0, as: type) }
        #expect(ours == Array(try file.rawBytes("x")))
    }

    @Test func halfRoundsToNearestEven() {
        #expect(Quantize.half(1) == 0x3C00)
        #expect(Quantize.half(-2) == 0xC000)
        #expect(Quantize.half(65504) == 0x7BFF)
        #expect(Quantize.half(65520) == 0x7C00)               // halfway past the largest finite: infinity
        #expect(Quantize.half(1 + 1.0 / 2048) == 0x3C00)      // tie: even mantissa stays
        #expect(Quantize.half(1 + 3.0 / 2048) == 0x3C02)      // tie: odd mantissa rounds up
        // 2^-25, half the smallest subnormal: a tie, to even (zero).
        #expect(Quantize.half(Float(bitPattern: 0x3300_0000)) == 0x0000)
        #expect(Quantize.half(5.960_464_5e-8) == 0x0001)      // the smallest subnormal
        #expect(Quantize.half(.infinity) == 0x7C00)
        #expect(Quantize.half(.nan) & 0x7C00 == 0x7C00 && Quantize.half(.nan) & 0x3FF != 0)
    }

    @Test func q8_0OfNonFiniteValuesDoesNotTrap() {
        var block = [Float](repeating: 1, count: 32)
        block[3] = .nan
        block[7] = .infinity
        let bytes = block.withUnsafeBufferPointer { Quantize.encode($0, as: .q8_0) }
        #expect(bytes.count == 34)
    }
}
