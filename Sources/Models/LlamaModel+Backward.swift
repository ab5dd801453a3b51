import Tensor

/// Gradient buffers for one (B, T) that the backward pass reuses layer after layer (one arena).
// Unchecked Sendable: raw buffers of one backward pass at a time.
public final class LlamaBackwardBuffers: @unchecked Sendable {
    public let arena: TensorArena
    let residual: UnsafeMutablePointer<Float>   // (B, T, C) gradient of the residual stream
    let normed: UnsafeMutablePointer<Float>     // (B, T, C) gradient of an RMSNorm output
    let qkv: UnsafeMutablePointer<Float>        // (B, T, NH·HS + 2·KVH·HS)
    let attention: UnsafeMutablePointer<Float>  // (B, T, NH·HS)
    let gateUp: UnsafeMutablePointer<Float>     // (B, T, 2·I)
    let hidden: UnsafeMutablePointer<Float>     // (B, T, I)
    let qkPreNorm: UnsafeMutablePointer<Float>? // (B, T, NH·HS + KVH·HS) q and k before their norms (qkNorm)
    let projection: UnsafeMutablePointer<Float>? // (B, T, C) an o_proj / down_proj output under a sandwich norm

    public init(config c: LlamaConfig, batchSize B: Int, length T: Int) {
        let N = B * T, C = c.hiddenSize, I = c.intermediateSize
        let Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize
        var table: [(name: String, shape: [Int])] = [
            ("residual", [N, C]), ("normed", [N, C]), ("qkv", [N, Q + 2 * KV]), ("attention", [N, Q]),
            ("gateUp", [N, 2 * I]), ("hidden", [N, I]),
        ]
        if c.qkNorm { table.append(("qkPreNorm", [N, Q + KV])) }
        if c.sandwichNorms { table.append(("projection", [N, C])) }
        arena = TensorArena(layout: table)
        residual = arena.tensor("residual").data
        normed = arena.tensor("normed").data
        qkv = arena.tensor("qkv").data
        attention = arena.tensor("attention").data
        gateUp = arena.tensor("gateUp").data
        hidden = arena.tensor("hidden").data
        qkPreNorm = c.qkNorm ? arena.tensor("qkPreNorm").data : nil
        projection = c.sandwichNorms ? arena.tensor("projection").data : nil
    }
}

extension LlamaModel {
    /// Masked token cross-entropy and its gradient: losses[n] = −log p(targets[n]) (0 where the target is −1),
    /// then `activations.logits` is overwritten in place by dlogits for dloss = `gradientScale` per counted token.
    /// Returns Σ losses over counted tokens (so a mean over micro-batches is Σ/Σcount, with scale 1/Σcount).
    public func crossEntropyLossAndGradient(
        targets: [Int32], gradientScale: Float, activations a: LlamaActivations
    ) -> (lossSum: Double, tokens: Int) {
        guard let logits = a.logits else { preconditionFailure("the backward needs all logits") }
        let N = a.batchSize * a.length, V = config.vocabSize
        precondition(targets.count == N, "\(targets.count) targets for \(N) positions")
        let rowTargets = a.targets(of: targets)
        let M = rowTargets.count
        var losses = [Float](repeating: 0, count: M)
        crossEntropyForward(losses: &losses, logits: logits.data, targets: rowTargets, rows: M, columns: V)
        let dlosses = rowTargets.map { $0 >= 0 ? gradientScale : 0 }
        crossEntropyBackward(dlogits: logits.data, dlosses: dlosses, logits: logits.data, targets: rowTargets, rows: M,
                             columns: V)
        var sum = 0.0, count = 0
        for i in 0..<M where rowTargets[i] >= 0 { sum += Double(losses[i]); count += 1 }
        return (sum, count)
    }

    /// Back-propagates dlogits (in `activations.logits`, from `crossEntropyLossAndGradient`) through the model.
    ///
    /// - gradients: accumulates every parameter's gradient (same table as the weights); nil freezes the base
    ///   model, and then no weight gradient is computed at all (LoRA training).
    /// - adapterGradients: accumulates the adapters' gradients (the model's `adapter` must be set and enabled).
    /// - hiddenGradient (B·T, C): an extra gradient on the final normed hidden state (a value head's).
    /// The activations must come from `forward` with `storedLayers == layerCount`.
    public func backward(
        _ batch: TokenBatch, activations a: LlamaActivations, gradients g: LlamaWeights?, adapterGradients: LoRAAdapter?,
        buffers d: LlamaBackwardBuffers, hiddenGradient: UnsafePointer<Float>? = nil
    ) {
        let c = config
        precondition(a.storedLayers == c.layerCount, "the backward needs every layer's activations")
        precondition(a.batchSize == batch.batchSize && a.length == batch.length, "activations of another batch")
        precondition(adapterGradients == nil || adapter != nil, "adapter gradients without an adapter")
        let B = batch.batchSize, T = batch.length, N = B * T
        let C = c.hiddenSize, I = c.intermediateSize, NH = c.headCount, KVH = c.kvHeadCount, HS = c.headSize
        let Q = NH * HS, KV = KVH * HS, QKV = Q + 2 * KV, offset = c.normWeightOffset
        let rotary = RotaryTables(config: c, positions: batch.positions, length: T)
        let lora = adapterGradients

        d.arena.zero()
        if let logits = a.logits {
            // logits = cap·tanh(raw / cap): dlogits now holds the gradient of the capped logits.
            let M = a.logitRows?.count ?? N
            if let cap = c.finalLogitSoftcap {
                guard let capped = a.cappedLogits else { preconditionFailure("softcapped logits need training activations") }
                softcapBackward(logits.data, capped: capped.data, count: M * c.vocabSize, cap: cap)
            }
            // logits = finalNormed · lm_headᵀ (tied: the gradient lands in embed_tokens through the shared pointer)
            if let rows = a.logitRows, let input = a.logitInputs {
                // Only `rows` have logits: their gradient, computed in d.residual (zero, and free until the final
                // norm's backward below), goes to their positions of d.normed; the other positions get none.
                matmulBackward(dinput: d.residual, dweight: g?.lmHead, dbias: nil, dout: logits.data, input: input,
                               weight: weights.lmHead, rows: M, inChannels: C, outChannels: c.vocabSize,
                               precision: productPrecision)
                for (i, n) in rows.enumerated() { (d.normed + n * C).update(from: d.residual + i * C, count: C) }
                d.residual.update(repeating: 0, count: M * C)
            } else {
                matmulBackward(dinput: d.normed, dweight: g?.lmHead, dbias: nil, dout: logits.data, input: a.finalNormed,
                               weight: weights.lmHead, rows: N, inChannels: C, outChannels: c.vocabSize,
                               precision: productPrecision)
            }
        }
        if let hiddenGradient { addInPlace(d.normed, hiddenGradient, count: N * C) }
        rmsNormBackward(dinput: d.residual, dweight: g?.finalNorm, dout: d.normed, input: a.final, weight: weights.finalNorm,
                        rstd: a.finalRstd, rows: N, channels: C, weightOffset: offset)

        for l in stride(from: c.layerCount - 1, through: 0, by: -1) {
            let w = weights.layers[l], x = a.layer(l), gl = g?.layers[l]
            // out = middle + [norm](down(hidden)): d.residual is the gradient of both middle and the MLP output
            // (through Gemma's post_feedforward_layernorm first, into d.projection).
            var dmlp = UnsafePointer(d.residual)
            if let norm = w.mlpOutputNorm, let dprojection = d.projection, let input = x.mlpProjection, let rstd = x.rstd4 {
                dprojection.update(repeating: 0, count: N * C)
                rmsNormBackward(dinput: dprojection, dweight: gl?.mlpOutputNorm, dout: d.residual, input: input, weight: norm,
                                rstd: rstd, rows: N, channels: C, weightOffset: offset)
                dmlp = UnsafePointer(dprojection)
            }
            d.hidden.update(repeating: 0, count: N * I)
            matmulBackward(dinput: d.hidden, dweight: gl?.down, dbias: gl?.downBias, dout: dmlp, input: x.hidden,
                           weight: w.down, rows: N, inChannels: I, outChannels: C, precision: productPrecision)
            adapter?.backward([.down], layer: l, dinput: d.hidden, gradients: lora, dout: dmlp, input: x.hidden, rows: N)
            d.gateUp.update(repeating: 0, count: N * 2 * I)
            switch c.activation {
            case .silu: swigluBackward(dgateUp: d.gateUp, dout: d.hidden, gateUp: x.gateUp, rows: N, channels: I)
            case .geluTanh: gegluBackward(dgateUp: d.gateUp, dout: d.hidden, gateUp: x.gateUp, rows: N, channels: I)
            }
            d.normed.update(repeating: 0, count: N * C)
            matmulBackward(dinput: d.normed, dweight: gl?.gateUp, dbias: gl?.gateUpBias, dout: d.gateUp, input: x.ln2,
                           weight: w.gateUp, rows: N, inChannels: C, outChannels: 2 * I, precision: productPrecision)
            adapter?.backward([.gate, .up], layer: l, dinput: d.normed, gradients: lora, dout: d.gateUp, input: x.ln2, rows: N)
            rmsNormBackward(dinput: d.residual, dweight: gl?.mlpNorm, dout: d.normed, input: x.middle,
                            weight: w.mlpNorm, rstd: x.rstd2, rows: N, channels: C, weightOffset: offset)

            // middle = input + [norm](o(attention)): d.residual now holds the gradient of middle.
            var dattention = UnsafePointer(d.residual)
            if let norm = w.attentionOutputNorm, let dprojection = d.projection, let input = x.attentionProjection, let rstd = x.rstd3 {
                dprojection.update(repeating: 0, count: N * C)
                rmsNormBackward(dinput: dprojection, dweight: gl?.attentionOutputNorm, dout: d.residual, input: input,
                                weight: norm, rstd: rstd, rows: N, channels: C, weightOffset: offset)
                dattention = UnsafePointer(dprojection)
            }
            d.attention.update(repeating: 0, count: N * Q)
            matmulBackward(dinput: d.attention, dweight: gl?.o, dbias: gl?.oBias, dout: dattention, input: x.attention,
                           weight: w.o, rows: N, inChannels: Q, outChannels: C, precision: productPrecision)
            adapter?.backward([.o], layer: l, dinput: d.attention, gradients: lora, dout: dattention, input: x.attention, rows: N)
            d.qkv.update(repeating: 0, count: N * QKV)
            attentionBackward(dq: d.qkv, dk: d.qkv + Q, dv: d.qkv + Q + KV, dout: d.attention, probs: x.probs,
                              q: x.qkv, k: x.qkv + Q, v: x.qkv + Q + KV, rowStride: QKV,
                              batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: c.layerWindows[l],
                              scale: c.attentionScale)
            let (cos, sin) = rotary.tables(layer: l)
            rotaryBackward(dx: d.qkv, rowStride: QKV, cos: cos, sin: sin, tokens: N, heads: NH, headSize: HS)
            rotaryBackward(dx: d.qkv + Q, rowStride: QKV, cos: cos, sin: sin, tokens: N, heads: KVH, headSize: HS)
            if let qNorm = w.qNorm, let kNorm = w.kNorm, let dpre = d.qkPreNorm, let pre = x.qkPreNorm, let rstd = x.qkRstd {
                // q, k = norm(projections): through the per-head norms into d.qkPreNorm, then back over q and k in d.qkv.
                dpre.update(repeating: 0, count: N * (Q + KV))
                headRMSNormBackward(dinput: dpre, inputStride: Q + KV, dweight: gl?.qNorm, dout: d.qkv, outputStride: QKV,
                                    input: pre, weight: qNorm, weightOffset: offset, rstd: rstd, tokens: N, heads: NH, headSize: HS)
                headRMSNormBackward(dinput: dpre + Q, inputStride: Q + KV, dweight: gl?.kNorm, dout: d.qkv + Q, outputStride: QKV,
                                    input: pre + Q, weight: kNorm, weightOffset: offset, rstd: rstd + N * NH, tokens: N,
                                    heads: KVH, headSize: HS)
                for n in 0..<N { (d.qkv + n * QKV).update(from: dpre + n * (Q + KV), count: Q + KV) }
            }
            d.normed.update(repeating: 0, count: N * C)
            matmulBackward(dinput: d.normed, dweight: gl?.qkv, dbias: gl?.qkvBias, dout: d.qkv, input: x.ln1,
                           weight: w.qkv, rows: N, inChannels: C, outChannels: QKV, precision: productPrecision)
            adapter?.backward([.q, .k, .v], layer: l, dinput: d.normed, gradients: lora, dout: d.qkv, input: x.ln1, rows: N)
            rmsNormBackward(dinput: d.residual, dweight: gl?.inputNorm, dout: d.normed, input: x.input,
                            weight: w.inputNorm, rstd: x.rstd1, rows: N, channels: C, weightOffset: offset)
        }
        if let g {
            // input = embed_tokens[ids] · scale (Gemma's √C)
            if c.embeddingScale != 1 { scale(d.residual, N * C, by: c.embeddingScale) }
            batch.ids.withUnsafeBufferPointer { ids in
                embeddingBackward(dtable: g.embedTokens, dout: d.residual, ids: ids.baseAddress!, tokens: N, channels: C)
            }
        }
    }
}
