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

/// The backward of `matmulForward`, accumulating: dinput (N, IC) += dout · weight, dweight (OC, IC) += doutᵀ · input,
/// dbias (OC) += Σₙ dout. Pass nil for a gradient that is not wanted (frozen weights cost no compute).
///
/// Threads split dinput's columns and dweight's rows, so no two write the same float.
public func matmulBackward(
    dinput: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, inChannels IC: Int, outChannels OC: Int
) {
    let threads = Parallel.threadCount
    let large = N * IC * OC >= 4_000_000
    if let dinput {
        // dinput[:, i0..<i1] += dout (N, OC) · weight[:, i0..<i1] (OC, IC)   — inverts `out = input · weightᵀ`
        let chunks = large ? min(threads, max(1, IC / 64)) : 1
        let run = { (chunk: Int) in
            let i0 = (IC * chunk / chunks) & ~15, i1 = chunk + 1 == chunks ? IC : (IC * (chunk + 1) / chunks) & ~15
            guard i1 > i0 else { return }
            BLAS.sgemm(transA: false, transB: false, m: N, n: i1 - i0, k: OC, alpha: 1, a: dout, lda: OC,
                       b: weight + i0, ldb: IC, beta: 1, c: dinput + i0, ldc: IC)
        }
        if chunks == 1 { run(0) } else { BLAS.singleThreaded { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) } }
    }
    if dweight != nil || dbias != nil {
        let chunks = large ? min(threads, max(1, OC / 64)) : 1
        let run = { (chunk: Int) in
            let o0 = (OC * chunk / chunks) & ~15, o1 = chunk + 1 == chunks ? OC : (OC * (chunk + 1) / chunks) & ~15
            guard o1 > o0 else { return }
            if let dweight {
                // dweight[o0..<o1] += dout[:, o0..<o1]ᵀ · input
                BLAS.sgemm(transA: true, transB: false, m: o1 - o0, n: IC, k: N, alpha: 1, a: dout + o0, lda: OC,
                           b: input, ldb: IC, beta: 1, c: dweight + o0 * IC, ldc: IC)
            }
            if let dbias {
                // the bias was added to every row
                for n in 0..<N {
                    let row = dout + n &* OC
                    for o in o0..<o1 { dbias[o] += row[o] }
                }
            }
        }
        if chunks == 1 { run(0) } else { BLAS.singleThreaded { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) } }
    }
}

/// The reference for `matmulBackward`: loops accumulated in Double.
public func matmulBackwardNaive(
    dinput: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, inChannels IC: Int, outChannels OC: Int
) {
    for n in 0..<N {
        for i in 0..<IC {
            var sum = 0.0
            for o in 0..<OC { sum += Double(dout[n * OC + o]) * Double(weight[o * IC + i]) }
            dinput?[n * IC + i] += Float(sum)
        }
    }
    for o in 0..<OC {
        for i in 0..<IC {
            var sum = 0.0
            for n in 0..<N { sum += Double(dout[n * OC + o]) * Double(input[n * IC + i]) }
            dweight?[o * IC + i] += Float(sum)
        }
        var sum = 0.0
        for n in 0..<N { sum += Double(dout[n * OC + o]) }
        dbias?[o] += Float(sum)
    }
}
