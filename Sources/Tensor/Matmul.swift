import Dispatch

// Letters: N rows (tokens), IC input channels, OC output channels.

/// out (N, OC) = input (N, IC) · weightᵀ + bias, with weight stored (OC, IC) as in PyTorch's nn.Linear.
///
/// With several threads the output columns are split between them, each running single-threaded BLAS on its
/// slice of the weights: one thread pool for the whole engine instead of OpenBLAS's spinning one.
public func matmulForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int
) {
    let threads = Parallel.threadCount
    let chunks = N * IC * OC >= 4_000_000 ? min(threads, max(1, OC / 64)) : 1
    let run = { (chunk: Int) in
        // Column slices in multiples of 16 keep the kernels' vector loads aligned to their blocking.
        let o0 = (OC * chunk / chunks) & ~15, o1 = chunk + 1 == chunks ? OC : (OC * (chunk + 1) / chunks) & ~15
        guard o1 > o0 else { return }
        if let bias {
            for n in 0..<N { (out + n &* OC + o0).update(from: bias + o0, count: o1 - o0) }
        }
        BLAS.sgemm(
            transA: false, transB: true, m: N, n: o1 - o0, k: IC,
            alpha: 1, a: input, lda: IC, b: weight + o0 * IC, ldb: IC,
            beta: bias == nil ? 0 : 1, c: out + o0, ldc: OC)
    }
    if chunks == 1 {
        run(0)
    } else {
        BLAS.singleThreaded { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
    }
}

/// The reference for `matmulForward`: three loops, accumulated in Double.
public func matmulForwardNaive(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int
) {
    for n in 0..<N {
        for o in 0..<OC {
            var sum = Double(bias?[o] ?? 0)
            for i in 0..<IC { sum += Double(input[n * IC + i]) * Double(weight[o * IC + i]) }
            out[n * OC + o] = Float(sum)
        }
    }
}
