// Letters: N rows, C channels; for the per-head norms N tokens, H heads, HS head size.

/// y = x · r · (weight + offset) over one row of C floats, r = 1/sqrt(mean(x²) + eps); returns r.
@inline(__always)
func rmsNormRow(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, offset: Float,
    _ C: Int, eps: Float
) -> Float {
    var i = 0
    var ss8 = Float8()
    while i &+ 8 <= C {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
        ss8 += v * v
        i &+= 8
    }
    var ss = ss8.sum()
    while i < C { ss += x[i] * x[i]; i &+= 1 }
    let r = 1 / (ss / Float(C) + eps).squareRoot()
    let r8 = Float8(repeating: r), o8 = Float8(repeating: offset)
    i = 0
    while i &+ 8 <= C {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
        let w = UnsafeRawPointer(weight + i).loadUnaligned(as: Float8.self) + o8
        UnsafeMutableRawPointer(y + i).storeBytes(of: v * r8 * w, as: Float8.self)
        i &+= 8
    }
    while i < C { y[i] = x[i] * r * (weight[i] + offset); i &+= 1 }
    return r
}

/// dx += r·(dy·w') − x·r³/C · Σ(dy·w'·x) over one row, with w' = weight + offset: the input gradient of `rmsNormRow`.
@inline(__always)
func rmsNormRowBackward(
    _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
    _ weight: UnsafePointer<Float>, offset: Float, r: Float, _ C: Int
) {
    let o8 = Float8(repeating: offset)
    var i = 0
    var dot8 = Float8()
    while i &+ 8 <= C {
        let w = UnsafeRawPointer(weight + i).loadUnaligned(as: Float8.self) + o8
        let g = UnsafeRawPointer(dy + i).loadUnaligned(as: Float8.self) * w
        dot8 += g * UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
        i &+= 8
    }
    var dot = dot8.sum()
    while i < C { dot += dy[i] * (weight[i] + offset) * x[i]; i &+= 1 }
    // d/dx of r: −x·r³/C per unit of Σ(dy·w'·x)
    let k = dot * r * r * r / Float(C)
    let r8 = Float8(repeating: r), k8 = Float8(repeating: k)
    i = 0
    while i &+ 8 <= C {
        let w = UnsafeRawPointer(weight + i).loadUnaligned(as: Float8.self) + o8
        let g = UnsafeRawPointer(dy + i).loadUnaligned(as: Float8.self) * w
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
        let old = UnsafeRawPointer(dx + i).loadUnaligned(as: Float8.self)
        UnsafeMutableRawPointer(dx + i).storeBytes(of: old + g * r8 - xv * k8, as: Float8.self)
        i &+= 8
    }
    while i < C { dx[i] += dy[i] * (weight[i] + offset) * r - x[i] * k; i &+= 1 }
}

/// out = x / sqrt(mean(x²) + eps) · (weight + weightOffset), per row; `rstd` (N) keeps 1/sqrt(mean(x²) + eps) for
/// the backward. `weightOffset` is 1 for Gemma, whose checkpoints store each norm's weight as w − 1.
public func rmsNormForward(
    out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, channels C: Int, eps: Float, weightOffset: Float = 0
) {
    Parallel.forEachChunk(count: N, costPerItem: 4 &* C) { range in
        for n in range {
            let r = rmsNormRow(out + n &* C, input + n &* C, weight, offset: weightOffset, C, eps: eps)
            rstd?[n] = r
        }
    }
}

/// The reference for `rmsNormForward`, in Double.
public func rmsNormForwardNaive(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, channels C: Int, eps: Float, weightOffset: Float = 0
) {
    for n in 0..<N {
        var ss = 0.0
        for i in 0..<C { ss += Double(input[n * C + i]) * Double(input[n * C + i]) }
        let r = 1 / (ss / Double(C) + Double(eps)).squareRoot()
        for i in 0..<C { out[n * C + i] = Float(Double(input[n * C + i]) * r * (Double(weight[i]) + Double(weightOffset))) }
    }
}

/// The backward of `rmsNormForward`, accumulating. With y = x·r·w' (w' = weight + offset), r = (mean(x²) + eps)^(-1/2):
/// dx += r·(dy·w') − x·r³/C · Σ(dy·w'·x), dweight += Σₙ dy·x·r. `dweight` nil when the norm is frozen.
public func rmsNormBackward(
    dinput: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    rows N: Int, channels C: Int, weightOffset: Float = 0
) {
    Parallel.forEachChunk(count: N, costPerItem: 8 &* C) { range in
        for n in range {
            rmsNormRowBackward(dinput + n &* C, dout + n &* C, input + n &* C, weight, offset: weightOffset, r: rstd[n], C)
        }
    }
    guard let dweight else { return }
    // Columns split between threads so each dweight float has one writer.
    Parallel.forEachChunk(count: (C + 63) / 64, costPerItem: 3 &* 64 &* N) { range in
        let c0 = range.lowerBound &* 64, c1 = min(C, range.upperBound &* 64)
        for n in 0..<N {
            let x = input + n &* C, dy = dout + n &* C, r = rstd[n]
            for c in c0..<c1 { dweight[c] += dy[c] * x[c] * r }
        }
    }
}

/// Per-head RMSNorm (Qwen3's and Gemma 3's q_norm / k_norm): each of a token's H heads of HS floats is normalised
/// on its own, all with one weight (HS): out[n, h] = x[n, h] · r[n, h] · (weight + weightOffset).
///
/// Token n's heads start at input + n·inputStride and out + n·outputStride (so either can be a slice of a fused
/// qkv row); rstd (N, H) keeps each head's 1/sqrt(mean(x²) + eps) for the backward.
public func headRMSNormForward(
    out: UnsafeMutablePointer<Float>, outputStride: Int, rstd: UnsafeMutablePointer<Float>?,
    input: UnsafePointer<Float>, inputStride: Int, weight: UnsafePointer<Float>, weightOffset: Float = 0,
    tokens N: Int, heads H: Int, headSize HS: Int, eps: Float
) {
    Parallel.forEachChunk(count: N, costPerItem: 4 &* H &* HS) { range in
        for n in range {
            for h in 0..<H {
                let r = rmsNormRow(out + (n &* outputStride &+ h &* HS), input + (n &* inputStride &+ h &* HS), weight,
                                   offset: weightOffset, HS, eps: eps)
                rstd?[n &* H &+ h] = r
            }
        }
    }
}

/// The reference for `headRMSNormForward`: `rmsNormForwardNaive` on each head's row.
public func headRMSNormForwardNaive(
    out: UnsafeMutablePointer<Float>, outputStride: Int, input: UnsafePointer<Float>, inputStride: Int,
    weight: UnsafePointer<Float>, weightOffset: Float = 0, tokens N: Int, heads H: Int, headSize HS: Int, eps: Float
) {
    for n in 0..<N {
        for h in 0..<H {
            rmsNormForwardNaive(out: out + n * outputStride + h * HS, input: input + n * inputStride + h * HS,
                                weight: weight, rows: 1, channels: HS, eps: eps, weightOffset: weightOffset)
        }
    }
}

/// The backward of `headRMSNormForward`, accumulating into dinput (laid out like the input, `inputStride`) and
/// dweight (HS, summed over tokens and heads; nil when frozen). dout is laid out like the output (`outputStride`).
public func headRMSNormBackward(
    dinput: UnsafeMutablePointer<Float>, inputStride: Int, dweight: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, outputStride: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    weightOffset: Float = 0, rstd: UnsafePointer<Float>, tokens N: Int, heads H: Int, headSize HS: Int
) {
    Parallel.forEachChunk(count: N, costPerItem: 8 &* H &* HS) { range in
        for n in range {
            for h in 0..<H {
                rmsNormRowBackward(dinput + (n &* inputStride &+ h &* HS), dout + (n &* outputStride &+ h &* HS),
                                   input + (n &* inputStride &+ h &* HS), weight, offset: weightOffset,
                                   r: rstd[n &* H &+ h], HS)
            }
        }
    }
    guard let dweight else { return }
    // One weight of HS floats shared by every row: a serial sum (N·H·HS, small next to the projections).
    for n in 0..<N {
        for h in 0..<H {
            let x = input + (n &* inputStride &+ h &* HS), dy = dout + (n &* outputStride &+ h &* HS), r = rstd[n &* H &+ h]
            for c in 0..<HS { dweight[c] += dy[c] * x[c] * r }
        }
    }
}
