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
/// Threads split the output columns (`forEachSlice`). `precision` .bf16 multiplies input and weight rounded to
/// bf16 (`ProductPrecision`), the threads splitting rows.
public func matmulForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int, precision: ProductPrecision = .fp32
) {
    let large = N * IC * OC >= 4_000_000
    switch precision {
    case .fp32:
        // Column slices in multiples of 16 keep the kernels' vector loads aligned to their blocking.
        forEachSlice(of: OC, large: large, align: 16) { o0, o1 in
            if let bias {
                for n in 0..<N { (out + n &* OC + o0).update(from: bias + o0, count: o1 - o0) }
            }
            product(.fp32, c: out + o0, ldc: OC, a: input, lda: IC, b: weight + o0 * IC, ldb: IC, transB: true,
                    m: N, n: o1 - o0, k: IC, accumulate: bias != nil)
        }
    case .bf16:
        forEachSlice(of: N, large: large, align: 8) { n0, n1 in
            if let bias {
                for n in n0..<n1 { (out + n &* OC).update(from: bias, count: OC) }
            }
            product(.bf16, c: out + n0 * OC, ldc: OC, a: input + n0 * IC, lda: IC, b: weight, ldb: IC, transB: true,
                    m: n1 - n0, n: OC, k: IC, accumulate: bias != nil)
        }
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
    let large = N * IC * OC >= 4_000_000
    if let dinput {
        switch precision {
        case .fp32:
            // dinput[:, i0..<i1] += dout (N, OC) · weight[:, i0..<i1] (OC, IC)   — inverts `out = input · weightᵀ`
            forEachSlice(of: IC, large: large, align: 16) { i0, i1 in
                product(.fp32, c: dinput + i0, ldc: IC, a: dout, lda: OC, b: weight + i0, ldb: IC, transB: false,
                        m: N, n: i1 - i0, k: OC, accumulate: true)
            }
        case .bf16:
            forEachSlice(of: N, large: large, align: 8) { n0, n1 in
                product(.bf16, c: dinput + n0 * IC, ldc: IC, a: dout + n0 * OC, lda: OC, b: weight, ldb: IC,
                        transB: false, m: n1 - n0, n: IC, k: OC, accumulate: true)
            }
        }
    }
    if dweight != nil || dbias != nil {
        forEachSlice(of: OC, large: large, align: 16) { o0, o1 in
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
