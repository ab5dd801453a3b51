// Letters: N rows (tokens), IC input channels, OC output channels.

/// out (N, OC) = input (N, IC) · weightᵀ + bias, with weight stored (OC, IC) as in PyTorch's nn.Linear.
public func matmulForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int
) {
    if let bias {
        for n in 0..<N { (out + n &* OC).update(from: bias, count: OC) }
    }
    BLAS.sgemm(
        transA: false, transB: true, m: N, n: OC, k: IC,
        alpha: 1, a: input, lda: IC, b: weight, ldb: IC,
        beta: bias == nil ? 0 : 1, c: out, ldc: OC)
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
