import Tensor

/// The buffers one decoder layer reads and writes for N rows (N = B·T tokens). The full forward gives every
/// layer its own (kept for the backward); a decode step points them all at one in-place working set
/// (`input`, `middle` and `output` the same residual stream, `ln1` and `ln2` the same scratch).
struct DecoderLayerBuffers {
    var input: UnsafeMutablePointer<Float>       // (N, C) residual stream entering the layer
    var ln1: UnsafeMutablePointer<Float>         // (N, C)
    var rstd1: UnsafeMutablePointer<Float>       // (N)
    var qkv: UnsafeMutablePointer<Float>         // (N, NH·HS + 2·KVH·HS): q, k after rotary, then v
    var attention: UnsafeMutablePointer<Float>   // (N, NH·HS)
    var middle: UnsafeMutablePointer<Float>      // (N, C) residual stream after attention
    var ln2: UnsafeMutablePointer<Float>         // (N, C)
    var rstd2: UnsafeMutablePointer<Float>       // (N)
    var gateUp: UnsafeMutablePointer<Float>      // (N, 2·I)
    var hidden: UnsafeMutablePointer<Float>      // (N, I)
    var projection: UnsafeMutablePointer<Float>  // (N, C) o_proj / down_proj output before the residual add
    var output: UnsafeMutablePointer<Float>      // (N, C) residual stream leaving the layer
}

/// Which matrix-product kernel a pass uses: BLAS over the fp32 parameters for many rows (the full forward,
/// which the backward follows), the weight-streaming decode kernel over `decodeMatrices` for few.
enum ProductKernel {
    case blas, decode

    func callAsFunction(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, decodeWeight: DecodeWeight,
        bias: UnsafePointer<Float>?, rows N: Int, inChannels IC: Int, outChannels OC: Int
    ) {
        switch self {
        case .blas: matmulForward(out: out, input: input, weight: weight, bias: bias, rows: N, inChannels: IC, outChannels: OC)
        case .decode: matmulDecode(out: out, input: input, weight: decodeWeight, bias: bias, rows: N, inChannels: IC, outChannels: OC)
        }
    }
}

extension LlamaModel {
    /// Decoder layer `l` over N rows, as the paper's block: RMSNorm → q/k/v (+ LoRA) → rotary → attention →
    /// o_proj (+ LoRA) → residual → RMSNorm → gate/up (+ LoRA) → SwiGLU → down (+ LoRA) → residual.
    ///
    /// `attend(qkv, out)` is the attention itself, which is what differs between passes: causal attention over
    /// the batch in `forward`, attention over the KV cache (after storing the new keys and values) in a decode step.
    func decoderLayer(
        _ l: Int, rows N: Int, buffers x: DecoderLayerBuffers, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
        product: ProductKernel, attend: (_ qkv: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) -> Void
    ) {
        let c = config, w = weights.layers[l]
        let d = product == .decode ? decodeMatrices.layers[l] : DecodeMatrices.Layer(qkv: .f32(w.qkv), o: .f32(w.o), gateUp: .f32(w.gateUp), down: .f32(w.down))
        let C = c.hiddenSize, I = c.intermediateSize, NH = c.headCount, KVH = c.kvHeadCount, HS = c.headSize
        let Q = NH * HS, QKV = Q + 2 * KVH * HS
        rmsNormForward(out: x.ln1, rstd: x.rstd1, input: x.input, weight: w.inputNorm, rows: N, channels: C, eps: c.rmsNormEps)
        product(out: x.qkv, input: x.ln1, weight: w.qkv, decodeWeight: d.qkv, bias: w.qkvBias, rows: N, inChannels: C, outChannels: QKV)
        adapter?.forward([.q, .k, .v], layer: l, out: x.qkv, input: x.ln1, rows: N)
        rotaryForward(x: x.qkv, rowStride: QKV, cos: cos, sin: sin, tokens: N, heads: NH, headSize: HS)
        rotaryForward(x: x.qkv + Q, rowStride: QKV, cos: cos, sin: sin, tokens: N, heads: KVH, headSize: HS)
        attend(x.qkv, x.attention)
        product(out: x.projection, input: x.attention, weight: w.o, decodeWeight: d.o, bias: w.oBias, rows: N, inChannels: Q, outChannels: C)
        adapter?.forward([.o], layer: l, out: x.projection, input: x.attention, rows: N)
        if x.middle != x.input { x.middle.update(from: x.input, count: N * C) }
        addInPlace(x.middle, x.projection, count: N * C)

        rmsNormForward(out: x.ln2, rstd: x.rstd2, input: x.middle, weight: w.postAttentionNorm, rows: N, channels: C, eps: c.rmsNormEps)
        product(out: x.gateUp, input: x.ln2, weight: w.gateUp, decodeWeight: d.gateUp, bias: w.gateUpBias, rows: N, inChannels: C, outChannels: 2 * I)
        adapter?.forward([.gate, .up], layer: l, out: x.gateUp, input: x.ln2, rows: N)
        swigluForward(out: x.hidden, gateUp: x.gateUp, rows: N, channels: I)
        product(out: x.projection, input: x.hidden, weight: w.down, decodeWeight: d.down, bias: w.downBias, rows: N, inChannels: I, outChannels: C)
        adapter?.forward([.down], layer: l, out: x.projection, input: x.hidden, rows: N)
        if x.output != x.middle { x.output.update(from: x.middle, count: N * C) }
        addInPlace(x.output, x.projection, count: N * C)
    }
}
