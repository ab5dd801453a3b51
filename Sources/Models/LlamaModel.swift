import Common
import SafeTensors
import Tensor

/// A Llama-family decoder (Llama, Qwen2, Qwen3, Mistral, Gemma 3): embeddings, L × (RMSNorm → GQA attention with
/// rotary → residual → RMSNorm → gated MLP → residual), a final RMSNorm and the LM head; what the families add
/// (q/k norms, sandwich norms, GeGLU, scaled embeddings, local layers, softcapped logits) is set by the config.
// Unchecked Sendable: weights and settings change only between passes; a pass only reads them.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    /// Checkpoint tensors the model ignored when it was loaded.
    public private(set) var unusedTensors: [String] = []
    /// LoRA adapters applied on top of the weights in `forward` (while `adapter.enabled`).
    public var adapter: LoRAAdapter?
    /// Whether the checkpoint stored its matrices in bf16 (false for models built in memory).
    public private(set) var storedInBF16 = false
    /// The matrices decode steps read (fp32 until `useDecodePrecision(.bf16)`).
    public private(set) var decodeMatrices: DecodeMatrices
    /// The precision of the products with the weights in `forward` and in `backward`'s input gradients (fp32, or
    /// bf16 for a base that does not train: LoRA's, a reference's). Weight gradients are always fp32.
    public var productPrecision: ProductPrecision = .fp32

    public init(config: LlamaConfig, weights: LlamaWeights) {
        precondition(weights.config == config, "weights built for another config")
        self.config = config
        self.weights = weights
        decodeMatrices = DecodeMatrices(weights: weights, precision: .fp32)
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
        storedInBF16 = checkpoint.info("model.layers.0.self_attn.q_proj.weight")?.dtype == .bf16
    }

    /// Makes decode steps read the matrices in `precision` (`.auto`: bf16 when the checkpoint stored bf16),
    /// building bf16 copies of the current parameters if needed. Returns the precision in use.
    @discardableResult
    public func useDecodePrecision(_ precision: DecodePrecision) -> DecodePrecision {
        let resolved: DecodePrecision = precision == .auto ? (storedInBF16 ? .bf16 : .fp32) : precision
        if decodeMatrices.precision != resolved { decodeMatrices = DecodeMatrices(weights: weights, precision: resolved) }
        return resolved
    }

    /// Runs the batch through the model; logits (B·T, V) land in `activations.logits`, or, with `logitRows`
    /// (increasing positions), only those positions' logits, row i for position `logitRows[i]`.
    /// Logits at padding positions are not meaningful.
    public func forward(_ batch: TokenBatch, activations a: LlamaActivations, logitRows: [Int]? = nil) throws {
        precondition(a.batchSize == batch.batchSize && a.length == batch.length, "activations sized for another batch")
        if let logitRows {
            precondition(zip(logitRows, logitRows.dropFirst()).allSatisfy { $0 < $1 }, "logit rows must increase")
            precondition(logitRows.allSatisfy { (0..<(batch.batchSize * batch.length)).contains($0) },
                         "logit rows outside the batch")
        }
        try batch.validate(vocabSize: config.vocabSize)
        let c = config
        let B = batch.batchSize, T = batch.length, N = B * T
        let C = c.hiddenSize, NH = c.headCount, KVH = c.kvHeadCount, HS = c.headSize
        let Q = NH * HS, KV = KVH * HS
        let rotary = RotaryTables(config: c, positions: batch.positions, length: T)

        batch.ids.withUnsafeBufferPointer { ids in
            embeddingForward(out: a.layer(0).input, ids: ids.baseAddress!, table: weights.embedTokens, tokens: N, channels: C)
        }
        if c.embeddingScale != 1 { scale(a.layer(0).input, N * C, by: c.embeddingScale) }
        batch.mask.withUnsafeBufferPointer { mask in
            for l in 0..<c.layerCount {
                let x = a.layer(l)
                // Without sandwich norms the projections are not kept: both go to the shared `projection`.
                let buffers = DecoderLayerBuffers(
                    input: x.input, ln1: x.ln1, rstd1: x.rstd1, qkv: x.qkv, qkPreNorm: x.qkPreNorm, qkRstd: x.qkRstd,
                    attention: x.attention, attentionProjection: x.attentionProjection ?? a.projection, rstd3: x.rstd3,
                    middle: x.middle, ln2: x.ln2, rstd2: x.rstd2, gateUp: x.gateUp, hidden: x.hidden,
                    mlpProjection: x.mlpProjection ?? a.projection, rstd4: x.rstd4, normedProjection: a.projection,
                    output: a.output(ofLayer: l, layerCount: c.layerCount))
                let (cos, sin) = rotary.tables(layer: l)
                let window = c.layerWindows[l], attentionScale = c.attentionScale
                let product = ProductKernel.blas(productPrecision)
                decoderLayer(l, rows: N, buffers: buffers, cos: cos, sin: sin, product: product) { qkv, out in
                    attentionForward(
                        out: out, probs: x.probs, q: qkv, k: qkv + Q, v: qkv + Q + KV, rowStride: Q + 2 * KV,
                        keyMask: mask.baseAddress!, batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS,
                        slidingWindow: window, scale: attentionScale)
                }
            }
        }
        rmsNormForward(
            out: a.finalNormed, rstd: a.finalRstd, input: a.final, weight: weights.finalNorm, rows: N, channels: C, eps: c.rmsNormEps,
            weightOffset: c.normWeightOffset)
        a.logitRows = logitRows
        if let logits = a.logits {
            var input = UnsafePointer(a.finalNormed), M = N
            if let logitRows, let gathered = a.logitInputs {
                for (i, n) in logitRows.enumerated() { (gathered + i * C).update(from: a.finalNormed + n * C, count: C) }
                input = UnsafePointer(gathered)
                M = logitRows.count
            }
            matmulForward(out: logits.data, input: input, weight: weights.lmHead, bias: nil,
                          rows: M, inChannels: C, outChannels: c.vocabSize, precision: productPrecision)
            if let cap = c.finalLogitSoftcap {
                softcapForward(logits.data, count: M * c.vocabSize, cap: cap)
                a.cappedLogits?.data.update(from: logits.data, count: M * c.vocabSize)
            }
        }
    }

    /// The positions that have a target (≥ 0), for `forward`'s `logitRows`; nil when every position has one.
    public static func logitRows(forTargets targets: [Int32]) -> [Int]? {
        let rows = targets.indices.filter { targets[$0] >= 0 }
        return rows.count == targets.count ? nil : rows
    }

    /// Logits (B·T, V) for a batch, allocating forward-only activations.
    public func logits(_ batch: TokenBatch) throws -> Tensor {
        let activations = LlamaActivations(config: config, batchSize: batch.batchSize, length: batch.length)
        try forward(batch, activations: activations)
        return activations.logits!
    }
}

/// The cos and sin tables (B·T, HS/2) of a batch's positions: one pair for global layers and, for Gemma 3, one for
/// its local layers (another rotary base). Built once per pass; each layer takes its pair.
struct RotaryTables {
    let global: (cos: Tensor, sin: Tensor)
    let local: (cos: Tensor, sin: Tensor)?
    let usesLocal: [Bool]

    init(config c: LlamaConfig, positions: [Int32], length T: Int) {
        func tensors(_ rotary: RotaryEmbedding) -> (cos: Tensor, sin: Tensor) {
            let (cos, sin) = rotary.table(positions: positions, length: T)
            return (Tensor(shape: [cos.count], values: cos), Tensor(shape: [sin.count], values: sin))
        }
        global = tensors(c.rotary)
        local = c.localRotary.map(tensors)
        usesLocal = (0..<c.layerCount).map { c.usesLocalRotary(layer: $0) }
    }

    /// Layer `l`'s cos and sin.
    func tables(layer l: Int) -> (cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let pair = usesLocal[l] ? local ?? global : global
        return (UnsafePointer(pair.cos.data), UnsafePointer(pair.sin.data))
    }
}
