// Letters: N rows, V columns (the vocabulary for logits).
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// log Σ e^x over one row, stable: max + log Σ e^(x − max).
@inline(__always)
public func logSumExp(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    let m = maxOf(x, count)
    var i = 0
    var s8 = Float8()
    let m8 = Float8(repeating: m)
    while i &+ 8 <= count {
        s8 += fastExp(UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self) - m8)
        i &+= 8
    }
    var s = s8.sum()
    while i < count { s += fastExp(x[i] - m); i &+= 1 }
    return m + log(s)
}

/// losses[n] = logsumexp(logits[n]) − logits[n, targets[n]], the negative log-likelihood of the target;
/// rows whose target is negative (ignored) get 0.
public func crossEntropyForward(
    losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
    rows N: Int, columns V: Int
) {
    Parallel.forEachChunk(count: N, costPerItem: 20 &* V) { range in
        for n in range {
            let t = Int(targets[n])
            guard t >= 0 else { losses[n] = 0; continue }
            precondition(t < V, "target \(t) outside the vocabulary of \(V)")
            let x = logits + n &* V
            losses[n] = logSumExp(x, V) - x[t]
        }
    }
}

/// The reference for `crossEntropyForward` (and `logSumExp`): log-softmax per row in Double.
public func logSoftmaxForwardNaive(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows N: Int, columns V: Int) {
    for n in 0..<N {
        let row = (0..<V).map { Double(input[n * V + $0]) }
        let m = row.max() ?? 0
        let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
        for i in 0..<V { out[n * V + i] = Float(row[i] - lse) }
    }
}

/// The backward of `crossEntropyForward`: dlogits[n] = dlosses[n] · (softmax(logits[n]) − onehot(targets[n])),
/// written (not accumulated) so that `dlogits` may alias `logits` and the (N, V) buffer is reused in place.
/// Rows with a negative target get 0.
public func crossEntropyBackward(
    dlogits: UnsafeMutablePointer<Float>, dlosses: UnsafePointer<Float>, logits: UnsafePointer<Float>,
    targets: UnsafePointer<Int32>, rows N: Int, columns V: Int
) {
    Parallel.forEachChunk(count: N, costPerItem: 20 &* V) { range in
        for n in range {
            let t = Int(targets[n])
            let x = logits + n &* V, dx = dlogits + n &* V
            guard t >= 0, dlosses[n] != 0 else { dx.update(repeating: 0, count: V); continue }
            precondition(t < V, "target \(t) outside the vocabulary of \(V)")
            let m = maxOf(x, V)
            let sum = expShiftedSum(dx, x, V, shift: m)
            scale(dx, V, by: dlosses[n] / sum)
            dx[t] -= dlosses[n]
        }
    }
}
