import Foundation
import Common
import Generation
import Models
import SafeTensors
import Tensor
import Testing

/// Decoding with bf16 copies of the matrices: the kernels against a reference, the rounding against PyTorch's rule,
/// and whole models against their fp32 selves.
@Suite struct BF16DecodeTests {
    /// bf16-rounded copies of `weight` as bits and as the fp32 values they stand for.
    func narrowed(_ weight: Tensor) -> (bits: [UInt16], values: Tensor) {
        let bits = (0..<weight.count).map { bfloat16FromFloat(weight[$0]) }
        let values = Tensor(shape: weight.shape, values: bits.map(floatFromBFloat16))
        return (bits, values)
    }

    @Test("matmulDecode over bf16 weights equals the three-loop product of the rounded weights", arguments: [1, 2, 3, 4, 5, 7, 8, 16, 17, 40])
    func bf16MatchesNaive(rows: Int) {
        for kernels in DecodeKernelSet.available {
            var rng = SplitMix64(seed: 100 + UInt64(rows))
            // Sizes that leave remainders everywhere: K not a multiple of 8, outputs not of 4 or 16, several blocks of rows.
            for (IC, OC, withBias) in [(37, 50, true), (64, 131, false), (200, 70, false), (576, 200, true), (13, 300, false)] {
                let input = Tensor(shape: [rows, IC]), weight = Tensor(shape: [OC, IC]), bias = Tensor(shape: [OC])
                for t in [input, weight, bias] { for i in 0..<t.count { t[i] = rng.nextNormal() } }
                let (bits, rounded) = narrowed(weight)
                let fast = Tensor(shape: [rows, OC]), naive = Tensor(shape: [rows, OC])
                bits.withUnsafeBufferPointer { w in
                    BLAS.singleThreaded {
                        matmulDecode(out: fast.data, input: input.data, weight: .bf16(w.baseAddress!), bias: withBias ? bias.data : nil,
                                     rows: rows, inChannels: IC, outChannels: OC, kernels: kernels)
                    }
                }
                matmulForwardNaive(out: naive.data, input: input.data, weight: rounded.data, bias: withBias ? bias.data : nil,
                                   rows: rows, inChannels: IC, outChannels: OC)
                let worst = maxAbsDifference(fast.data, naive.data, count: fast.count)
                #expect(worst < 1e-3, "\(kernels) kernels, rows \(rows), \(IC)→\(OC): max error \(worst)")
            }
        }
    }

    @Test("narrowing rounds to nearest, ties to even, NaN to 0x7FC0, as PyTorch")
    func rounding() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3F80),  // 1
            (0x3F80_8000, 0x3F80),  // halfway, even below: down
            (0x3F81_8000, 0x3F82),  // halfway, even above: up
            (0x3F80_8001, 0x3F81),  // just above halfway: up
            (0x3F80_7FFF, 0x3F80),  // just below halfway: down
            (0x8000_0000, 0x8000),  // −0
            (0x7F80_0000, 0x7F80),  // +∞
            (0x7F7F_FFFF, 0x7F80),  // the largest float rounds to ∞, as in PyTorch
            (0x0000_0001, 0x0000),  // the smallest subnormal rounds to 0
            (0x7FC0_0001, 0x7FC0), (0xFF80_0001, 0x7FC0),  // NaNs, whatever their sign and payload
        ]
        for (input, expected) in cases {
            #expect(bfloat16FromFloat(Float(bitPattern: input)) == expected, "\(String(input, radix: 16))")
        }
        // Widening then narrowing returns every bf16 value (NaNs aside).
        for half in UInt16.min...UInt16.max where !floatFromBFloat16(half).isNaN {
            if bfloat16FromFloat(floatFromBFloat16(half)) != half { Issue.record("bf16 \(half) does not round-trip"); break }
        }
    }

    /// Logits at every position of `sequences` (left-padded): the first half as one prefill (the sgemm path),
    /// the rest one token per step (the kernels).
    func stepLogits(_ model: LlamaModel, _ sequences: [[Int]]) throws -> [Float] {
        let batch = TokenBatch(sequences: sequences, padding: .left, padId: 0)
        return try stepwiseLogits(model, batch, prefix: batch.length / 2, maxStepTokens: batch.length).array
    }

    /// Tolerance of bf16 against fp32 logits on the fixture models (tiny random models whose logits are ~1–10):
    /// bf16 keeps 8 bits of mantissa, so each weight moves by up to 2⁻⁹ of itself.
    static let logitTolerance: Float = 0.1

    @Test("bf16 decoding stays within 0.1 of fp32 logits on every fixture model; a bf16 checkpoint's are unchanged",
          arguments: [
              "llama-gqa", "qwen2-tied", "llama3-sharded", "mistral-window", "chat-smollm", "qwen3-norms", "gemma3-local",
              "gemma3-softcap",
          ])
    func logitsCloseToFP32(model name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let V = model.config.vocabSize
        var rng = SplitMix64(seed: 7)
        let sequences = [12, 7, 16].map { n in (0..<n).map { _ in Int(rng.next() % UInt64(V)) } }
        let fp32 = try stepLogits(model, sequences)
        #expect(model.useDecodePrecision(.bf16) == .bf16)
        let bf16 = try stepLogits(model, sequences)
        model.useDecodePrecision(.fp32)
        #expect(try stepLogits(model, sequences) == fp32, "fp32 again after bf16")
        let worst = zip(fp32, bf16).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        print("\(name): bf16 vs fp32 max |Δlogit| = \(worst)")
        if model.storedInBF16 {
            // Its values are bf16 already: the copies are exact and the kernels the same, so nothing may change.
            #expect(worst == 0, "\(name) is stored in bf16, yet its logits moved by \(worst)")
        } else {
            #expect(worst > 0, "bf16 changed nothing: the copies were not used")
        }
        #expect(worst <= Self.logitTolerance, "\(name): max |Δlogit| = \(worst)")
    }

    @Test("a bf16 checkpoint decodes in bf16 by default (auto), and a refresh follows changed parameters")
    func autoFollowsTheCheckpoint() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-bf16-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.copyItem(atPath: Fixtures.chatModelDirectory, toPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fp32Model = try LlamaModel(directory: directory)
        #expect(!fp32Model.storedInBF16 && fp32Model.useDecodePrecision(.auto) == .fp32)
        try fp32Model.weights.save(directory: directory, dtype: .bf16)
        let model = try LlamaModel(directory: directory)
        #expect(model.storedInBF16)
        #expect(model.useDecodePrecision(.auto) == .bf16)
        // The checkpoint's bf16 values come back exactly: bf16 decoding of a bf16 checkpoint equals fp32 decoding.
        let sequences = [[5, 9, 14, 3, 22, 8]]
        let bf16 = try stepLogits(model, sequences)
        model.useDecodePrecision(.fp32)
        let fp32 = try stepLogits(model, sequences)
        #expect(zip(bf16, fp32).allSatisfy { abs($0 - $1) <= 1e-4 })
        // Changed parameters reach bf16 decoding only through refresh.
        model.useDecodePrecision(.bf16)
        let c = model.config
        model.weights.layers[0].down.update(repeating: 0, count: c.hiddenSize * c.intermediateSize)
        #expect(try stepLogits(model, sequences) == bf16, "the copies changed without a refresh")
        model.decodeMatrices.refresh()
        let fresh = try stepLogits(model, sequences)
        model.useDecodePrecision(.fp32)
        let changed = try stepLogits(model, sequences)
        #expect(fresh != bf16)
        #expect(zip(fresh, changed).allSatisfy { abs($0 - $1) <= 1e-4 })
    }

    @Test("greedy bf16 generation equals transformers' fp32 golden output where the fp32 top-2 gap allows")
    func greedyGolden() throws {
        let directory = Fixtures.chatModelDirectory
        let model = try LlamaModel(directory: directory)
        let fixture = try Fixtures.greedy()
        model.useDecodePrecision(.bf16)
        let generator = Generator(model: model, tokenizer: Fixtures.chat.tokenizer)
        var p = SamplingParameters()
        p.maxNewTokens = fixture.max_new_tokens
        p.minNewTokens = fixture.max_new_tokens
        for expected in fixture.cases {
            let got = try generator.generate([GenerationRequest(promptIds: expected.prompt_ids, parameters: p)])[0].tokenIds
            guard let split = zip(got, expected.generated_ids).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
                #expect(got == expected.generated_ids)
                continue
            }
            // A different token is allowed only where fp32 itself nearly tied: its top-1/top-2 gap is below what bf16 moves.
            let scored = try Fixtures.chat.model.logits(TokenBatch(sequences: [expected.prompt_ids + Array(expected.generated_ids.prefix(split))]))
            let V = model.config.vocabSize
            let last = Array(UnsafeBufferPointer(start: scored.data + (scored.count / V - 1) * V, count: V)).sorted(by: >)
            let gap = last[0] - last[1]
            print("greedy case diverges at token \(split): fp32 top-1/top-2 gap \(gap)")
            #expect(gap <= 2 * Self.logitTolerance, "diverged at token \(split) where fp32's gap was \(gap)")
        }
    }
}
