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

/// The backward of `rmsNormForward`, accumulating. With y = x·r·w and r = (mean(x²) + eps)^(-1/2):
/// dx += r·(dy·w) − x·r³/C · Σ(dy·w·x), dweight += Σₙ dy·x·r. `dweight` nil when the norm is frozen.
public func rmsNormBackward(
    dinput: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    rows N: Int, channels C: Int
) {
    Parallel.forEachChunk(count: N, costPerItem: 8 &* C) { range in
        for n in range {
            let x = input + n &* C, dy = dout + n &* C, dx = dinput + n &* C
            let r = rstd[n]
            var i = 0
            var dot8 = Float8()
            while i &+ 8 <= C {
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: Float8.self) * UnsafeRawPointer(weight + i).loadUnaligned(as: Float8.self)
                dot8 += g * UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
                i &+= 8
            }
            var dot = dot8.sum()
            while i < C { dot += dy[i] * weight[i] * x[i]; i &+= 1 }
            // d/dx of r: −x·r³/C per unit of Σ(dy·w·x)
            let k = dot * r * r * r / Float(C)
            let r8 = Float8(repeating: r), k8 = Float8(repeating: k)
            i = 0
            while i &+ 8 <= C {
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: Float8.self) * UnsafeRawPointer(weight + i).loadUnaligned(as: Float8.self)
                let xv = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
                let old = UnsafeRawPointer(dx + i).loadUnaligned(as: Float8.self)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: old + g * r8 - xv * k8, as: Float8.self)
                i &+= 8
            }
            while i < C { dx[i] += dy[i] * weight[i] * r - x[i] * k; i &+= 1 }
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
