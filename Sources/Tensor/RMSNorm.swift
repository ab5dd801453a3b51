// Letters: N rows, C channels.

/// out = x / sqrt(mean(x²) + eps) · weight, per row; `rstd` (N) keeps 1/sqrt(mean(x²) + eps) for the backward.
public func rmsNormForward(
    out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, channels C: Int, eps: Float
) {
    Parallel.forEachChunk(count: N, costPerItem: 4 &* C) { range in
        for n in range {
            let x = input + n &* C
            let y = out + n &* C
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
            rstd?[n] = r
            let r8 = Float8(repeating: r)
            i = 0
            while i &+ 8 <= C {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
                let w = UnsafeRawPointer(weight + i).loadUnaligned(as: Float8.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v * r8 * w, as: Float8.self)
                i &+= 8
            }
            while i < C { y[i] = x[i] * r * weight[i]; i &+= 1 }
        }
    }
}

/// The reference for `rmsNormForward`, in Double.
public func rmsNormForwardNaive(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, channels C: Int, eps: Float
) {
    for n in 0..<N {
        var ss = 0.0
        for i in 0..<C { ss += Double(input[n * C + i]) * Double(input[n * C + i]) }
        let r = 1 / (ss / Double(C) + Double(eps)).squareRoot()
        for i in 0..<C { out[n * C + i] = Float(Double(input[n * C + i]) * r * Double(weight[i])) }
    }
}
