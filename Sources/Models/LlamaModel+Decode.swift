import Tensor

extension LlamaModel {
    /// Appends T new tokens per sequence to `cache` and computes the logits (B, V) of each sequence's last
    /// new token into `cache.logits`, the same as the last position of a full forward over everything fed
    /// (with `adapter` applied while enabled, as in `forward`).
    ///
    /// - ids (B, T): the new tokens; mask (B, T): 1 for real tokens, 0 for padding (left padding of a
    ///   shorter prompt, or a sequence that already finished). T ≤ `cache.maxStepTokens`.
    /// - `allLogits` (tests): when non-nil, receives (B·T, V) logits for every new token.
    public func decodeStep(
        ids: [Int32], mask: [Float], tokens T: Int, cache: KVCache, allLogits: UnsafeMutablePointer<Float>? = nil
    ) throws {
        let B = cache.batchSize
        precondition(cache.config == config, "cache built for another config")
        precondition(ids.count == B * T && mask.count == B * T, "ids and mask must be (B, T)")
        precondition(T > 0 && T <= cache.maxStepTokens, "\(T) tokens in one step (at most \(cache.maxStepTokens))")
        guard T <= cache.remaining else {
            throw ModelError.badInput(reason: "the KV cache holds \(cache.capacity) tokens per sequence; \(cache.length + T) needed")
        }
        for (i, id) in ids.enumerated() where mask[i] > 0 && (id < 0 || Int(id) >= config.vocabSize) {
            throw ModelError.tokenOutOfRange(sequence: i / T, position: cache.length + i % T, id: Int(id), vocabSize: config.vocabSize)
        }
        let c = config
        let N = B * T, C = c.hiddenSize, NH = c.headCount, KVH = c.kvHeadCount, HS = c.headSize
        let Q = NH * HS, KV = KVH * HS, QKV = Q + 2 * KV, S = cache.capacity, V = c.vocabSize
        let start = cache.length
        let positions = cache.append(mask: mask, tokens: T)
        let rotary = RotaryTables(config: c, positions: positions, length: T)
        // Padding slots may hold any id; they are masked, but the embedding lookup must stay in range.
        let safeIds = zip(ids, mask).map { id, m in m > 0 ? id : 0 }

        BLAS.singleThreaded {
            safeIds.withUnsafeBufferPointer { embeddingForward(out: cache.x, ids: $0.baseAddress!, table: weights.embedTokens, tokens: N, channels: C) }
            if c.embeddingScale != 1 { scale(cache.x, N * C, by: c.embeddingScale) }
            // One in-place working set; q/k norms run in place (nothing is kept for a backward).
            let buffers = DecoderLayerBuffers(
                input: cache.x, ln1: cache.normed, rstd1: cache.rstd, qkv: cache.qkv, qkPreNorm: nil, qkRstd: nil,
                attention: cache.attention, attentionProjection: cache.projection, rstd3: nil, middle: cache.x,
                ln2: cache.normed, rstd2: cache.rstd, gateUp: cache.gateUp, hidden: cache.hidden,
                mlpProjection: cache.projection, rstd4: nil, normedProjection: cache.normed, output: cache.x)
            for l in 0..<c.layerCount {
                let (cos, sin) = rotary.tables(layer: l)
                let window = c.layerWindows[l], attentionScale = c.attentionScale
                decoderLayer(l, rows: N, buffers: buffers, cos: cos, sin: sin, product: .decode) { qkv, out in
                    // Store the new keys and values in their slots: (B, T, KV) rows → (B, S, KV) at `start`.
                    for b in 0..<B {
                        for t in 0..<T {
                            let row = qkv + (b * T + t) * QKV
                            let slot = (b * S + start + t) * KV
                            (cache.keys[l] + slot).update(from: row + Q, count: KV)
                            (cache.values[l] + slot).update(from: row + Q + KV, count: KV)
                        }
                    }
                    // A local layer (Mistral's, Gemma 3's) reads only its window of slots.
                    cachedAttentionForward(
                        out: out, q: qkv, rowStride: QKV, keys: cache.keys[l], values: cache.values[l],
                        slotMask: cache.slotMask, batch: B, newTokens: T, start: start, slots: S,
                        heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window, scale: attentionScale,
                        scratch: cache.scratch)
                }
            }
            let offset = c.normWeightOffset
            if let allLogits {
                rmsNormForward(out: cache.normed, rstd: cache.rstd, input: cache.x, weight: weights.finalNorm, rows: N, channels: C,
                               eps: c.rmsNormEps, weightOffset: offset)
                matmulDecode(out: allLogits, input: cache.normed, weight: decodeMatrices.lmHead, bias: nil, rows: N, inChannels: C, outChannels: V)
                if let cap = c.finalLogitSoftcap { softcapForward(allLogits, count: N * V, cap: cap) }
                for b in 0..<B { (cache.logits.data + b * V).update(from: allLogits + (b * T + T - 1) * V, count: V) }
                return
            }
            // Only each sequence's last new token needs logits.
            for b in 0..<B { (cache.lastRows + b * C).update(from: cache.x + (b * T + T - 1) * C, count: C) }
            rmsNormForward(out: cache.normed, rstd: cache.rstd, input: cache.lastRows, weight: weights.finalNorm, rows: B, channels: C,
                           eps: c.rmsNormEps, weightOffset: offset)
            matmulDecode(out: cache.logits.data, input: cache.normed, weight: decodeMatrices.lmHead, bias: nil, rows: B, inChannels: C, outChannels: V)
            if let cap = c.finalLogitSoftcap { softcapForward(cache.logits.data, count: B * V, cap: cap) }
        }
    }

    /// Feeds left-padded prompts (B, T) into an empty-or-not cache in chunks of `cache.maxStepTokens`;
    /// afterwards `cache.logits` holds the next-token logits of every prompt.
    public func prefill(_ batch: TokenBatch, cache: KVCache) throws {
        precondition(batch.batchSize == cache.batchSize, "batch and cache sizes differ")
        let B = batch.batchSize, T = batch.length
        for t0 in stride(from: 0, to: T, by: cache.maxStepTokens) {
            let t1 = min(T, t0 + cache.maxStepTokens), n = t1 - t0
            var ids = [Int32](repeating: 0, count: B * n), mask = [Float](repeating: 0, count: B * n)
            for b in 0..<B {
                for t in 0..<n {
                    ids[b * n + t] = batch.ids[b * T + t0 + t]
                    mask[b * n + t] = batch.mask[b * T + t0 + t]
                }
            }
            try decodeStep(ids: ids, mask: mask, tokens: n, cache: cache)
        }
    }
}
