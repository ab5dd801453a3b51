import CKernels
import Dispatch

// Letters: N rows (tokens), IC input channels, OC output channels.

/// The precision of a product's operands. bf16 rounds both operands to bf16 (nearest, ties to even) and sums the
/// products in fp32: twice the multiply rate of fp32 on CPUs with AVX-512 BF16 dot products (elsewhere the same
/// rounding, multiplied by fp32 BLAS). For weights that do not train: LoRA's base, PPO's reference.
public enum ProductPrecision: String, Codable, Sendable, CaseIterable {
    case fp32, bf16
}

/// out (N, OC) = input (N, IC) · weightᵀ + bias, with weight stored (OC, IC) as in PyTorch's nn.Linear.
///
/// With several threads the output columns are split between them, each running single-threaded BLAS on its
/// slice of the weights: one thread pool for the whole engine instead of OpenBLAS's spinning one.
/// `precision` .bf16 multiplies input and weight rounded to bf16 (`ProductPrecision`), splitting rows instead.
public func matmulForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int, precision: ProductPrecision = .fp32
) {
    if precision == .bf16 {
        forEachRowChunk(rows: N, large: N * IC * OC >= 4_000_000) { n0, n1 in
            if let bias {
                for n in n0..<n1 { (out + n &* OC).update(from: bias, count: OC) }
            }
            product(.bf16, c: out + n0 * OC, ldc: OC, a: input + n0 * IC, lda: IC, b: weight, ldb: IC, transB: true,
                    m: n1 - n0, n: OC, k: IC, accumulate: bias != nil)
        }
        return
    }
    let threads = Parallel.threadCount
    let chunks = N * IC * OC >= 4_000_000 ? min(threads, max(1, OC / 64)) : 1
    let run = { (chunk: Int) in
        // Column slices in multiples of 16 keep the kernels' vector loads aligned to their blocking.
        let o0 = (OC * chunk / chunks) & ~15, o1 = chunk + 1 == chunks ? OC : (OC * (chunk + 1) / chunks) & ~15
        guard o1 > o0 else { return }
        if let bias {
            for n in 0..<N { (out + n &* OC + o0).update(from: bias + o0, count: o1 - o0) }
        }
        product(.fp32, c: out + o0, ldc: OC, a: input, lda: IC, b: weight + o0 * IC, ldb: IC, transB: true,
                m: N, n: o1 - o0, k: IC, accumulate: bias != nil)
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

/// Runs `body(n0, n1)` over row ranges covering 0..<N, on the engine's threads when the work is `large`. The bf16
/// products split rows: each thread packs only its rows of the input, and the weights it packs whole cost a
/// 1/rows share of its product.
func forEachRowChunk(rows N: Int, large: Bool, _ body: (Int, Int) -> Void) {
    let chunks = large ? min(Parallel.threadCount, max(1, N / 64)) : 1
    func run(_ chunk: Int) {
        // Multiples of 8 rows: the bf16 kernel's panel height.
        let n0 = (N * chunk / chunks) & ~7, n1 = chunk + 1 == chunks ? N : (N * (chunk + 1) / chunks) & ~7
        if n1 > n0 { body(n0, n1) }
    }
    if chunks == 1 {
        run(0)
    } else {
        BLAS.singleThreaded { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
    }
}

/// c (m, n) = (accumulate ? c : 0) + a (m, k) · op(b), op(b) = b (k, n) or, with transB, bᵀ of b (n, k); one thread.
func product(
    _ precision: ProductPrecision, c: UnsafeMutablePointer<Float>, ldc: Int, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, transB: Bool, m: Int, n: Int, k: Int, accumulate: Bool
) {
    switch precision {
    case .fp32:
        BLAS.sgemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                   beta: accumulate ? 1 : 0, c: c, ldc: ldc)
    case .bf16:
        if t2g_gemm_bf16(c, ldc, a, lda, b, ldb, transB ? 1 : 0, m, n, k, accumulate ? 1 : 0) == 0 {
            emulatedBF16Product(c: c, ldc: ldc, a: a, lda: lda, b: b, ldb: ldb, transB: transB, m: m, n: n, k: k,
                                accumulate: accumulate)
        }
    }
}

/// `product(.bf16, …)` where the CPU has no bf16 dot products: the same rounded operands, multiplied by fp32 BLAS.
func emulatedBF16Product(
    c: UnsafeMutablePointer<Float>, ldc: Int, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, transB: Bool, m: Int, n: Int, k: Int, accumulate: Bool
) {
    let (rows, columns) = transB ? (n, k) : (k, n)
    let ra = roundedToBF16(a, rows: m, columns: k, ld: lda)
    let rb = roundedToBF16(b, rows: rows, columns: columns, ld: ldb)
    defer { ra.deallocate(); rb.deallocate() }
    BLAS.sgemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: 1, a: ra, lda: k, b: rb, ldb: columns,
               beta: accumulate ? 1 : 0, c: c, ldc: ldc)
}

/// A packed copy of a (rows, columns) matrix (row stride ld) with every value rounded to the nearest bf16.
func roundedToBF16(_ x: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int) -> UnsafeMutablePointer<Float> {
    let out = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * columns))
    let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, columns))
    defer { halves.deallocate() }
    for r in 0..<rows {
        t2g_f32_to_bf16(halves, x + r * ld, columns)
        t2g_bf16_to_f32(out + r * columns, halves, columns)
    }
    return out
}

/// The backward of `matmulForward`, accumulating: dinput (N, IC) += dout · weight, dweight (OC, IC) += doutᵀ · input,
/// dbias (OC) += Σₙ dout. Pass nil for a gradient that is not wanted (frozen weights cost no compute).
///
/// Threads split dinput's columns (its rows in bf16) and dweight's rows, so no two write the same float. `precision`
/// is dinput's product's (the one a frozen weight needs); weight gradients are always fp32.
public func matmulBackward(
    dinput: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows N: Int, inChannels IC: Int, outChannels OC: Int, precision: ProductPrecision = .fp32
) {
    let threads = Parallel.threadCount
    let large = N * IC * OC >= 4_000_000
    if let dinput, precision == .bf16 {
        forEachRowChunk(rows: N, large: large) { n0, n1 in
            product(.bf16, c: dinput + n0 * IC, ldc: IC, a: dout + n0 * OC, lda: OC, b: weight, ldb: IC, transB: false,
                    m: n1 - n0, n: IC, k: OC, accumulate: true)
        }
    } else if let dinput {
        // dinput[:, i0..<i1] += dout (N, OC) · weight[:, i0..<i1] (OC, IC)   — inverts `out = input · weightᵀ`
        let chunks = large ? min(threads, max(1, IC / 64)) : 1
        let run = { (chunk: Int) in
            let i0 = (IC * chunk / chunks) & ~15, i1 = chunk + 1 == chunks ? IC : (IC * (chunk + 1) / chunks) & ~15
            guard i1 > i0 else { return }
            product(.fp32, c: dinput + i0, ldc: IC, a: dout, lda: OC, b: weight + i0, ldb: IC, transB: false,
                    m: N, n: i1 - i0, k: OC, accumulate: true)
        }
        if chunks == 1 {
        run(0)
    } else {
        BLAS.singleThreaded { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
    }
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
        if chunks == 1 {
        run(0)
    } else {
        BLAS.singleThreaded { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
    }
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
