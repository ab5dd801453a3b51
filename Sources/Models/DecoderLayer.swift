import Tensor

/// The buffers one decoder layer reads and writes for N rows (N = B·T tokens). The full forward gives every
/// layer its own (kept for the backward); a decode step points them all at one in-place working set
/// (`input`, `middle` and `output` the same residual stream, `ln1` and `ln2` the same scratch).
struct DecoderLayerBuffers {
    var input: UnsafeMutablePointer<Float>       // (N, C) residual stream entering the layer
    var ln1: UnsafeMutablePointer<Float>         // (N, C)
    var rstd1: UnsafeMutablePointer<Float>       // (N)
    var qkv: UnsafeMutablePointer<Float>         // (N, NH·HS + 2·KVH·HS): q, k after their norms and rotary, then v
    /// (N, NH·HS + KVH·HS) q and k before q_norm / k_norm, kept for the backward; nil normalises in place.
    var qkPreNorm: UnsafeMutablePointer<Float>?
    var qkRstd: UnsafeMutablePointer<Float>?     // (N·NH) for q then (N·KVH) for k
    var attention: UnsafeMutablePointer<Float>   // (N, NH·HS)
    var attentionProjection: UnsafeMutablePointer<Float>  // (N, C) o_proj output
    var rstd3: UnsafeMutablePointer<Float>?      // (N) Gemma's norm of the attention output
    var middle: UnsafeMutablePointer<Float>      // (N, C) residual stream after attention
    var ln2: UnsafeMutablePointer<Float>         // (N, C)
    var rstd2: UnsafeMutablePointer<Float>       // (N)
    var gateUp: UnsafeMutablePointer<Float>      // (N, 2·I)
    var hidden: UnsafeMutablePointer<Float>      // (N, I)
    var mlpProjection: UnsafeMutablePointer<Float>  // (N, C) down_proj output (may be `attentionProjection`)
    var rstd4: UnsafeMutablePointer<Float>?      // (N) Gemma's norm of the MLP output
    var normedProjection: UnsafeMutablePointer<Float>  // (N, C) scratch: a sandwich norm's output before its add
    var output: UnsafeMutablePointer<Float>      // (N, C) residual stream leaving the layer
}

/// Which matrix-product kernel a pass uses: BLAS over the fp32 parameters for many rows (the full forward,
/// which the backward follows), the weight-streaming decode kernel over `decodeMatrices` for few.
enum ProductKernel: Equatable {
    case blas(ProductPrecision), decode

    func callAsFunction(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, decodeWeight: DecodeWeight,
        bias: UnsafePointer<Float>?, rows N: Int, inChannels IC: Int, outChannels OC: Int
    ) {
        switch self {
        case .blas(let precision):
            matmulForward(out: out, input: input, weight: weight, bias: bias, rows: N, inChannels: IC, outChannels: OC,
                          precision: precision)
        case .decode: matmulDecode(out: out, input: input, weight: decodeWeight, bias: bias, rows: N, inChannels: IC, outChannels: OC)
        }
    }
}

extension LlamaModel {
    /// Decoder layer `l` over N rows, as the paper's block: RMSNorm → q/k/v (+ LoRA) → [q/k norms] → rotary →
    /// attention → o_proj (+ LoRA) → [RMSNorm] → residual → RMSNorm → gate/up (+ LoRA) → SwiGLU or GeGLU →
    /// down (+ LoRA) → [RMSNorm] → residual. Bracketed steps are the family's (Qwen3 and Gemma 3's q/k norms,
    /// Gemma's sandwich norms), chosen once per layer from the config.
    ///
    /// `cos`/`sin` are the layer's rotary tables (Gemma's local layers have their own). `attend(qkv, out)` is the
    /// attention itself, which is what differs between passes: causal attention over the batch in `forward`,
    /// attention over the KV cache (after storing the new keys and values) in a decode step.
    func decoderLayer(
        _ l: Int, rows N: Int, buffers x: DecoderLayerBuffers, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
        product: ProductKernel, attend: (_ qkv: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) -> Void
    ) {
        let c = config, w = weights.layers[l]
        let d = product == .decode ? decodeMatrices.layers[l] : DecodeMatrices.Layer(qkv: .f32(w.qkv), o: .f32(w.o), gateUp: .f32(w.gateUp), down: .f32(w.down))
        let C = c.hiddenSize, I = c.intermediateSize, NH = c.headCount, KVH = c.kvHeadCount, HS = c.headSize
        let Q = NH * HS, KV = KVH * HS, QKV = Q + 2 * KV, offset = c.normWeightOffset, eps = c.rmsNormEps
        rmsNormForward(out: x.ln1, rstd: x.rstd1, input: x.input, weight: w.inputNorm, rows: N, channels: C, eps: eps, weightOffset: offset)
        product(out: x.qkv, input: x.ln1, weight: w.qkv, decodeWeight: d.qkv, bias: w.qkvBias, rows: N, inChannels: C, outChannels: QKV)
        adapter?.forward([.q, .k, .v], layer: l, out: x.qkv, input: x.ln1, rows: N)
        if let qNorm = w.qNorm, let kNorm = w.kNorm {
            // q_norm / k_norm per head, in place; a pass that keeps activations keeps the projections for the
            // backward first (q and k of a row are contiguous).
            var source = UnsafePointer(x.qkv), stride = QKV
            if let pre = x.qkPreNorm {
                for n in 0..<N { (pre + n * (Q + KV)).update(from: x.qkv + n * QKV, count: Q + KV) }
                source = UnsafePointer(pre)
                stride = Q + KV
            }
            headRMSNormForward(out: x.qkv, outputStride: QKV, rstd: x.qkRstd, input: source, inputStride: stride,
                               weight: qNorm, weightOffset: offset, tokens: N, heads: NH, headSize: HS, eps: eps)
            headRMSNormForward(out: x.qkv + Q, outputStride: QKV, rstd: x.qkRstd.map { $0 + N * NH }, input: source + Q,
                               inputStride: stride, weight: kNorm, weightOffset: offset, tokens: N, heads: KVH, headSize: HS, eps: eps)
        }
        rotaryForward(x: x.qkv, rowStride: QKV, cos: cos, sin: sin, tokens: N, heads: NH, headSize: HS)
        rotaryForward(x: x.qkv + Q, rowStride: QKV, cos: cos, sin: sin, tokens: N, heads: KVH, headSize: HS)
        attend(x.qkv, x.attention)
        product(out: x.attentionProjection, input: x.attention, weight: w.o, decodeWeight: d.o, bias: w.oBias, rows: N, inChannels: Q, outChannels: C)
        adapter?.forward([.o], layer: l, out: x.attentionProjection, input: x.attention, rows: N)
        if x.middle != x.input { x.middle.update(from: x.input, count: N * C) }
        if let norm = w.attentionOutputNorm {
            rmsNormForward(out: x.normedProjection, rstd: x.rstd3, input: x.attentionProjection, weight: norm, rows: N, channels: C,
                           eps: eps, weightOffset: offset)
            addInPlace(x.middle, x.normedProjection, count: N * C)
        } else {
            addInPlace(x.middle, x.attentionProjection, count: N * C)
        }

        rmsNormForward(out: x.ln2, rstd: x.rstd2, input: x.middle, weight: w.mlpNorm, rows: N, channels: C, eps: eps, weightOffset: offset)
        product(out: x.gateUp, input: x.ln2, weight: w.gateUp, decodeWeight: d.gateUp, bias: w.gateUpBias, rows: N, inChannels: C, outChannels: 2 * I)
        adapter?.forward([.gate, .up], layer: l, out: x.gateUp, input: x.ln2, rows: N)
        switch c.activation {
        case .silu: swigluForward(out: x.hidden, gateUp: x.gateUp, rows: N, channels: I)
        case .geluTanh: gegluForward(out: x.hidden, gateUp: x.gateUp, rows: N, channels: I)
        }
        product(out: x.mlpProjection, input: x.hidden, weight: w.down, decodeWeight: d.down, bias: w.downBias, rows: N, inChannels: I, outChannels: C)
        adapter?.forward([.down], layer: l, out: x.mlpProjection, input: x.hidden, rows: N)
        if x.output != x.middle { x.output.update(from: x.middle, count: N * C) }
        if let norm = w.mlpOutputNorm {
            rmsNormForward(out: x.normedProjection, rstd: x.rstd4, input: x.mlpProjection, weight: norm, rows: N, channels: C,
                           eps: eps, weightOffset: offset)
            addInPlace(x.output, x.normedProjection, count: N * C)
        } else {
            addInPlace(x.output, x.mlpProjection, count: N * C)
        }
    }
}
