import SafeTensors
import Tensor

/// A Llama-family decoder (Llama, Qwen2, Mistral): embeddings, L × (RMSNorm → GQA attention with rotary →
/// residual → RMSNorm → SwiGLU MLP → residual), a final RMSNorm and the LM head.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    /// Checkpoint tensors the model ignored when it was loaded.
    public private(set) var unusedTensors: [String] = []
    /// LoRA adapters applied on top of the weights in `forward` (while `adapter.enabled`).
    public var adapter: LoRAAdapter?

    public init(config: LlamaConfig, weights: LlamaWeights) {
        precondition(weights.config == config, "weights built for another config")
        self.config = config
        self.weights = weights
    }

    /// Loads `config.json` and the safetensors weights of a Hugging Face model directory.
    public convenience init(directory: String) throws {
        let config = try LlamaConfig(directory: directory)
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        try checkpoint.checkShapes(LlamaWeights.layout(config), location: directory)
        let weights = LlamaWeights(config: config)
        let unused = try weights.load(from: checkpoint)
        self.init(config: config, weights: weights)
        unusedTensors = unused
    }

    /// Runs the batch through the model; logits (B·T, V) land in `activations.logits`.
    /// Logits at padding positions are not meaningful.
    public func forward(_ batch: TokenBatch, activations a: LlamaActivations) throws {
        precondition(a.batchSize == batch.batchSize && a.length == batch.length, "activations sized for another batch")
        try batch.validate(vocabSize: config.vocabSize)
        let c = config
        let B = batch.batchSize, T = batch.length, N = B * T
        let C = c.hiddenSize, I = c.intermediateSize, NH = c.headCount, KVH = c.kvHeadCount, HS = c.headSize
        let Q = NH * HS, KV = KVH * HS
        let (cosTable, sinTable) = c.rotary.table(positions: batch.positions, length: T)

        batch.ids.withUnsafeBufferPointer { ids in
            embeddingForward(out: a.layer(0).input, ids: ids.baseAddress!, table: weights.embedTokens, tokens: N, channels: C)
        }
        for l in 0..<c.layerCount {
            let w = weights.layers[l], x = a.layer(l)
            rmsNormForward(out: x.ln1, rstd: x.rstd1, input: x.input, weight: w.inputNorm, rows: N, channels: C, eps: c.rmsNormEps)
            let QKV = Q + 2 * KV
            matmulForward(out: x.qkv, input: x.ln1, weight: w.qkv, bias: w.qkvBias, rows: N, inChannels: C, outChannels: QKV)
            adapter?.forward([.q, .k, .v], layer: l, out: x.qkv, input: x.ln1, rows: N)
            cosTable.withUnsafeBufferPointer { cos in
                sinTable.withUnsafeBufferPointer { sin in
                    rotaryForward(x: x.qkv, rowStride: QKV, cos: cos.baseAddress!, sin: sin.baseAddress!,
                                  tokens: N, heads: NH, headSize: HS)
                    rotaryForward(x: x.qkv + Q, rowStride: QKV, cos: cos.baseAddress!, sin: sin.baseAddress!,
                                  tokens: N, heads: KVH, headSize: HS)
                }
            }
            batch.mask.withUnsafeBufferPointer { mask in
                attentionForward(
                    out: x.attention, probs: x.probs, q: x.qkv, k: x.qkv + Q, v: x.qkv + Q + KV, rowStride: QKV,
                    keyMask: mask.baseAddress!, batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS,
                    slidingWindow: c.slidingWindow)
            }
            matmulForward(out: a.projection, input: x.attention, weight: w.o, bias: w.oBias, rows: N, inChannels: Q, outChannels: C)
            adapter?.forward([.o], layer: l, out: a.projection, input: x.attention, rows: N)
            x.middle.update(from: x.input, count: N * C)
            addInPlace(x.middle, a.projection, count: N * C)

            rmsNormForward(out: x.ln2, rstd: x.rstd2, input: x.middle, weight: w.postAttentionNorm, rows: N, channels: C, eps: c.rmsNormEps)
            matmulForward(out: x.gateUp, input: x.ln2, weight: w.gateUp, bias: w.gateUpBias, rows: N, inChannels: C, outChannels: 2 * I)
            adapter?.forward([.gate, .up], layer: l, out: x.gateUp, input: x.ln2, rows: N)
            swigluForward(out: x.hidden, gateUp: x.gateUp, rows: N, channels: I)
            matmulForward(out: a.projection, input: x.hidden, weight: w.down, bias: w.downBias, rows: N, inChannels: I, outChannels: C)
            adapter?.forward([.down], layer: l, out: a.projection, input: x.hidden, rows: N)
            let out = a.output(ofLayer: l, layerCount: c.layerCount)
            out.update(from: x.middle, count: N * C)
            addInPlace(out, a.projection, count: N * C)
        }
        rmsNormForward(
            out: a.finalNormed, rstd: a.finalRstd, input: a.final, weight: weights.finalNorm, rows: N, channels: C, eps: c.rmsNormEps)
        if let logits = a.logits {
            matmulForward(out: logits.data, input: a.finalNormed, weight: weights.lmHead, bias: nil,
                          rows: N, inChannels: C, outChannels: c.vocabSize)
        }
    }

    /// Logits (B·T, V) for a batch, allocating forward-only activations.
    public func logits(_ batch: TokenBatch) throws -> Tensor {
        let activations = LlamaActivations(config: config, batchSize: batch.batchSize, length: batch.length)
        try forward(batch, activations: activations)
        return activations.logits!
    }
}
