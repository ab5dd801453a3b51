import Foundation
import Models
import Tensor
import Testing

/// Step-by-step decoding through the KV cache against one full forward pass (tolerance 1e-4).
@Suite struct KVCacheTests {
    /// Feeds `sequences` (left-padded) as a prefill of `prefix` slots, then one slot per step, and returns the
    /// largest logit difference to the full forward over the same left-padded batch at every real position.
    func maxDifference(model: LlamaModel, sequences: [[Int]], prefix: Int, maxStepTokens: Int = 64) throws -> Float {
        let batch = TokenBatch(sequences: sequences, padding: .left, padId: 0)
        let V = model.config.vocabSize
        let full = try model.logits(batch)
        let stepped = try stepwiseLogits(model, batch, prefix: prefix, maxStepTokens: maxStepTokens)
        var worst: Float = 0
        for position in 0..<batch.ids.count where batch.mask[position] > 0 {
            let got = stepped.data + position * V, want = full.data + position * V
            for v in 0..<V { worst = max(worst, abs(got[v] - want[v])) }
        }
        return worst
    }

    @Test("decoding token by token matches the full forward on every fixture model", arguments: [
        "llama-gqa", "qwen2-tied", "llama3-sharded", "mistral-window", "chat-smollm", "qwen3-norms", "gemma3-local", "gemma3-softcap",
    ])
    func stepwiseMatchesFullForward(name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        // llama-gqa's dynamic rope changes with the sequence length past 8 positions (transformers recomputes it
        // the same way), so it stays within its 8 positions here; the others run past their windows.
        let sequences: [[Int]] = name == "llama-gqa"
            ? [[1, 17, 200, 33, 4, 99, 150, 7], [1, 45, 46, 47, 2], [1, 3, 9]]
            : [[1, 17, 200, 33, 4, 99, 150, 7, 8, 250, 61, 12, 5], [1, 45, 46, 47, 2], [1, 3, 9, 27, 81, 243, 128, 64]]
        for prefix in [1, 4] {
            let worst = try maxDifference(model: model, sequences: sequences, prefix: prefix)
            #expect(worst < 1e-4, "\(name), prefill \(prefix): max |Δlogit| \(worst)")
        }
    }

    @Test("with a LoRA adapter on, decoding still matches the adapted full forward", arguments: ["llama3-sharded", "qwen2-tied", "qwen3-norms", "gemma3-local"])
    func withAdapter(name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        model.adapter = try LoRAAdapter.load(directory: Fixtures.root.appendingPathComponent("training/lora-\(name)").path,
                                             config: model.config)
        let sequences = [[1, 17, 200, 33, 4, 99, 150, 7, 8, 250], [1, 45, 46, 47, 2]]
        let worst = try maxDifference(model: model, sequences: sequences, prefix: 3)
        #expect(worst < 1e-4, "\(name) + LoRA: max |Δlogit| \(worst)")
        // The adapter changes the numbers (so the test would notice it being skipped).
        let batch = TokenBatch(sequences: sequences, padding: .left, padId: 0)
        let adapted = try model.logits(batch)
        model.adapter?.enabled = false
        let plain = try model.logits(batch)
        #expect(maxAbsDifference(adapted.data, plain.data, count: adapted.count) > 1e-3)
    }

    @Test("chunked prefill equals token-by-token steps")
    func chunkedPrefill() throws {
        let model = Fixtures.chat.model
        let sequences = [Array(5..<40), Array(100..<112)]
        let worst = try maxDifference(model: model, sequences: sequences, prefix: 35, maxStepTokens: 8)
        #expect(worst < 1e-4, "max |Δlogit| \(worst)")
    }

    @Test("the cache refuses to overflow and rejects out-of-vocabulary ids")
    func errors() throws {
        let model = Fixtures.chat.model
        let cache = KVCache(config: model.config, batchSize: 1, capacity: 2)
        try model.decodeStep(ids: [1, 2], mask: [1, 1], tokens: 2, cache: cache)
        #expect(throws: ModelError.self) { try model.decodeStep(ids: [3], mask: [1], tokens: 1, cache: cache) }
        let other = KVCache(config: model.config, batchSize: 1, capacity: 4)
        #expect(throws: ModelError.self) {
            try model.decodeStep(ids: [Int32(model.config.vocabSize)], mask: [1], tokens: 1, cache: other)
        }
        cache.reset()
        #expect(cache.length == 0 && cache.remaining == 2)
    }
}

/// The decode-step matrix product against the three-loop reference, on awkward sizes.
@Suite struct DecodeMatmulTests {
    @Test("matmulDecode equals matmulForwardNaive for 1 to 20 rows, with and without bias", arguments: [1, 2, 3, 5, 8, 9, 16, 20])
    func matchesNaive(rows: Int) {
        for kernels in DecodeKernelSet.available {
            var rng = SplitMix64(seed: UInt64(rows))
            for (IC, OC, withBias) in [(37, 50, true), (64, 129, false), (200, 70, false), (576, 200, true)] {
                let input = Tensor(shape: [rows, IC]), weight = Tensor(shape: [OC, IC]), bias = Tensor(shape: [OC])
                for t in [input, weight, bias] { for i in 0..<t.count { t[i] = rng.nextNormal() } }
                let fast = Tensor(shape: [rows, OC]), naive = Tensor(shape: [rows, OC])
                BLAS.singleThreaded {
                    matmulDecode(out: fast.data, input: input.data, weight: weight.data, bias: withBias ? bias.data : nil,
                                 rows: rows, inChannels: IC, outChannels: OC, kernels: kernels)
                }
                matmulForwardNaive(out: naive.data, input: input.data, weight: weight.data, bias: withBias ? bias.data : nil,
                                   rows: rows, inChannels: IC, outChannels: OC)
                var worst: Float = 0
                for i in 0..<fast.count { worst = max(worst, abs(fast[i] - naive[i])) }
                #expect(worst < 1e-3, "\(kernels) kernels, rows \(rows), \(IC)→\(OC): max error \(worst)")
            }
        }
    }
}

/// The largest |a[i] − b[i]|.
func maxAbsDifference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var worst: Float = 0
    for i in 0..<count { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}

/// Logits (B·T, V) of a left-padded batch decoded through a KV cache: the first `prefix` slots as one prefill (in
/// chunks of `maxStepTokens`), then one slot per step; row b·T + t holds position t of sequence b.
func stepwiseLogits(_ model: LlamaModel, _ batch: TokenBatch, prefix: Int, maxStepTokens: Int = 64) throws -> Tensor {
    let B = batch.batchSize, T = batch.length, V = model.config.vocabSize
    let cache = KVCache(config: model.config, batchSize: B, capacity: T, maxStepTokens: maxStepTokens)
    let all = Tensor(shape: [B * T, V])
    var t = 0
    while t < T {
        let chunk = min(t == 0 ? max(1, min(prefix, T)) : 1, maxStepTokens)
        var ids = [Int32](), mask = [Float]()
        for b in 0..<B {
            for i in 0..<chunk {
                ids.append(batch.ids[b * T + t + i])
                mask.append(batch.mask[b * T + t + i])
            }
        }
        let step = Tensor(shape: [B * chunk, V])
        try model.decodeStep(ids: ids, mask: mask, tokens: chunk, cache: cache, allLogits: step.data)
        for b in 0..<B {
            (all.data + (b * T + t) * V).update(from: step.data + b * chunk * V, count: chunk * V)
        }
        t += chunk
    }
    return all
}
