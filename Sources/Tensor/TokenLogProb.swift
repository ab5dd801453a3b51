import Foundation

// Per-token log-probabilities and entropies of a policy at a sampling temperature T, and their gradients:
// what PPO's policy loss and entropy bonus need. With z = logits / T, p = softmax(z), lse = log Σ e^z:
//   log π(y) = z_y − lse,   H = −Σ p log p = lse − Σ p·z.

/// For each row n with targets[n] ≥ 0: logp[n] = log softmax(logits[n] / T)[targets[n]] and, when `entropy` is
/// given, entropy[n] = −Σ p log p of that distribution; rows with a negative target get 0.
public func tokenLogProbForward(
    logp: UnsafeMutablePointer<Float>, entropy: UnsafeMutablePointer<Float>?, logits: UnsafePointer<Float>,
    targets: UnsafePointer<Int32>, temperature: Float, rows N: Int, columns V: Int
) {
    precondition(temperature > 0, "temperature must be positive")
    let inverse = 1 / temperature
    Parallel.forEachChunk(count: N, costPerItem: 24 &* V) { range in
        for n in range {
            let t = Int(targets[n])
            guard t >= 0 else { logp[n] = 0; entropy?[n] = 0; continue }
            precondition(t < V, "target \(t) outside the vocabulary of \(V)")
            let (lse, expected) = rowStatistics(logits + n &* V, V, inverse: inverse, withExpectation: entropy != nil)
            logp[n] = logits[n &* V &+ t] * inverse - lse
            entropy?[n] = lse - expected
        }
    }
}

/// The backward of `tokenLogProbForward` for the objective J = Σ_n logpWeights[n]·logp[n] + entropyWeights[n]·H[n]:
/// dJ/dlogits[n, j] = (1/T)·[w_n·(1[j = y_n] − p_j) − e_n·p_j·(log p_j + H_n)], written (not accumulated) so
/// `dlogits` may alias `logits`. Rows with a negative target, or with both weights 0, get 0.
public func tokenLogProbBackward(
    dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
    logpWeights: UnsafePointer<Float>, entropyWeights: UnsafePointer<Float>?, temperature: Float, rows N: Int, columns V: Int
) {
    precondition(temperature > 0, "temperature must be positive")
    let inverse = 1 / temperature
    Parallel.forEachChunk(count: N, costPerItem: 30 &* V) { range in
        for n in range {
            let t = Int(targets[n])
            let x = logits + n &* V, dx = dlogits + n &* V
            let w = logpWeights[n], e = entropyWeights?[n] ?? 0
            guard t >= 0, w != 0 || e != 0 else { dx.update(repeating: 0, count: V); continue }
            precondition(t < V, "target \(t) outside the vocabulary of \(V)")
            let (lse, expected) = rowStatistics(x, V, inverse: inverse, withExpectation: e != 0)
            let entropy = lse - expected
            // dx_j = (1/T)·[−w·p_j − e·p_j·(z_j − lse + H)] + (w/T)·1[j = y]; x and dx may be the same memory.
            let inv8 = Float8(repeating: inverse), lse8 = Float8(repeating: lse), h8 = Float8(repeating: entropy)
            let w8 = Float8(repeating: w), e8 = Float8(repeating: e)
            var j = 0
            while j &+ 8 <= V {
                let z = UnsafeRawPointer(x + j).loadUnaligned(as: Float8.self) * inv8
                let p = fastExp(z - lse8)
                let g = inv8 * (-(w8 * p) - e8 * p * (z - lse8 + h8))
                UnsafeMutableRawPointer(dx + j).storeBytes(of: g, as: Float8.self)
                j &+= 8
            }
            while j < V {
                let z = x[j] * inverse
                let p = fastExp(z - lse)
                dx[j] = inverse * (-(w * p) - e * p * (z - lse + entropy))
                j &+= 1
            }
            dx[t] += w * inverse
        }
    }
}

/// lse = log Σ e^(x·inverse) and, when asked, Σ p·z (p = softmax(z), z = x·inverse) for one row.
@inline(__always)
func rowStatistics(_ x: UnsafePointer<Float>, _ V: Int, inverse: Float, withExpectation: Bool) -> (Float, Float) {
    let m = maxOf(x, V) * inverse
    let inv8 = Float8(repeating: inverse), m8 = Float8(repeating: m)
    var s8 = Float8(), sz8 = Float8()
    var j = 0
    while j &+ 8 <= V {
        let z = UnsafeRawPointer(x + j).loadUnaligned(as: Float8.self) * inv8
        let e = fastExp(z - m8)
        s8 += e
        if withExpectation { sz8 += e * z }
        j &+= 8
    }
    var s = s8.sum(), sz = sz8.sum()
    while j < V {
        let z = x[j] * inverse
        let e = fastExp(z - m)
        s += e
        if withExpectation { sz += e * z }
        j &+= 1
    }
    return (m + log(s), withExpectation ? sz / s : 0)
}

/// The reference for both kernels, in Double: per row (log π(y), H) and dJ/dlogits.
public func tokenLogProbNaive(
    logits: UnsafePointer<Float>, targets: [Int32], logpWeights: [Float], entropyWeights: [Float], temperature: Float,
    columns V: Int
) -> (logp: [Float], entropy: [Float], dlogits: [Float]) {
    let N = targets.count, T = Double(temperature)
    var logp = [Float](repeating: 0, count: N), entropy = logp, d = [Float](repeating: 0, count: N * V)
    for n in 0..<N where targets[n] >= 0 {
        let z = (0..<V).map { Double(logits[n * V + $0]) / T }
        let m = z.max()!
        let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
        let p = z.map { Foundation.exp($0 - lse) }
        let h = -zip(p, z).map { $0 * ($1 - lse) }.reduce(0, +)
        let y = Int(targets[n])
        logp[n] = Float(z[y] - lse)
        entropy[n] = Float(h)
        let w = Double(logpWeights[n]), e = Double(entropyWeights[n])
        for j in 0..<V {
            d[n * V + j] = Float((w * ((j == y ? 1 : 0) - p[j]) - e * p[j] * (z[j] - lse + h)) / T)
        }
    }
    return (logp, entropy, d)
}
