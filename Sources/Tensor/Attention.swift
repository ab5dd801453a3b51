// Letters: B batch, T time, NH query heads, KVH key/value heads (NH a multiple of KVH), HS head size.

/// Which keys a query may attend to: itself and earlier keys that are real tokens, within the window.
@inline(__always)
func attentionWindowStart(query i: Int, slidingWindow: Int?) -> Int {
    guard let window = slidingWindow else { return 0 }
    return max(0, i - window + 1)
}

/// Causal grouped-query attention with a key padding mask.
///
/// - out (B, T, NH, HS) = softmax(q·kᵀ / √HS + mask) · v, query head h reading kv head h / (NH / KVH).
/// - q (B, T, NH, HS), k and v (B, T, KVH, HS), each token's row starting `rowStride` floats after the
///   previous one (so q, k, v can be slices of one fused qkv buffer).
/// - probs (B, NH, T, T) keeps the attention weights for the backward; disallowed entries are 0.
/// - keyMask (B, T): 1 for real tokens, 0 for padding. Padding queries get all-zero rows and outputs.
/// - slidingWindow: a query at i sees keys j with i − j < window (Mistral), nil for unlimited.
public func attentionForward(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int,
    keyMask: UnsafePointer<Float>,
    batch B: Int, time T: Int, heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?
) {
    precondition(NH % KVH == 0, "heads \(NH) not a multiple of kv heads \(KVH)")
    let groupSize = NH / KVH
    let scoreScale = 1 / Float(HS).squareRoot()
    let outStride = NH * HS
    BLAS.singleThreaded {
        Parallel.forEachChunk(count: B * NH, costPerItem: 4 * T * T * HS) { range in
            for bh in range {
                let b = bh / NH, h = bh % NH, kvh = h / groupSize
                let qbh = q + b * T * rowStride + h * HS
                let kbh = k + b * T * rowStride + kvh * HS
                let vbh = v + b * T * rowStride + kvh * HS
                let att = probs + bh * T * T
                let mask = keyMask + b * T
                // Query blocks of 64 read only the keys they may see (causal, windowed): about 60% of the
                // full T×T work at T = 256. Entries outside a row's keys stay 0.
                for i0 in stride(from: 0, to: T, by: attentionBlock) {
                    let i1 = min(T, i0 + attentionBlock)
                    let lo = attentionWindowStart(query: i0, slidingWindow: slidingWindow)
                    // scores[i0..<i1, lo..<i1] = q · kᵀ · scale
                    BLAS.sgemm(
                        transA: false, transB: true, m: i1 - i0, n: i1 - lo, k: HS, alpha: scoreScale,
                        a: qbh + i0 * rowStride, lda: rowStride, b: kbh + lo * rowStride, ldb: rowStride,
                        beta: 0, c: att + i0 * T + lo, ldc: T)
                    for i in i0..<i1 {
                        let row = att + i * T
                        let start = attentionWindowStart(query: i, slidingWindow: slidingWindow)
                        guard mask[i] > 0 else {
                            row.update(repeating: 0, count: T)
                            continue
                        }
                        if start > 0 { row.update(repeating: 0, count: start) }
                        if i + 1 < T { (row + i + 1).update(repeating: 0, count: T - i - 1) }
                        for j in start...i where mask[j] <= 0 { row[j] = -.infinity }
                        let span = i + 1 - start
                        let m = maxOf(row + start, span)
                        let sum = expShiftedSum(row + start, row + start, span, shift: m)
                        for j in start...i where mask[j] <= 0 { row[j] = 0 }
                        scale(row + start, span, by: 1 / sum)
                    }
                    // out[i0..<i1] = probs[i0..<i1, lo..<i1] · v[lo..<i1]
                    BLAS.sgemm(
                        transA: false, transB: false, m: i1 - i0, n: HS, k: i1 - lo, alpha: 1,
                        a: att + i0 * T + lo, lda: T, b: vbh + lo * rowStride, ldb: rowStride,
                        beta: 0, c: out + (b * T + i0) * outStride + h * HS, ldc: outStride)
                }
            }
        }
    }
}

/// Queries per block in `attentionForward`: large enough for efficient products, small enough to skip
/// most of the masked upper triangle.
let attentionBlock = 64

/// The reference for `attentionForward`: explicit loops in Double, the same masking rules.
public func attentionForwardNaive(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int,
    keyMask: UnsafePointer<Float>,
    batch B: Int, time T: Int, heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?
) {
    let groupSize = NH / KVH
    let scale = 1 / Double(HS).squareRoot()
    for b in 0..<B {
        for h in 0..<NH {
            let kvh = h / groupSize
            for i in 0..<T {
                var weights = [Double](repeating: 0, count: T)
                let start = attentionWindowStart(query: i, slidingWindow: slidingWindow)
                let allowed = (0..<T).filter { j in
                    keyMask[b * T + i] > 0 && j >= start && j <= i && keyMask[b * T + j] > 0
                }
                if !allowed.isEmpty {
                    var scores = [Double](repeating: 0, count: T)
                    for j in allowed {
                        var dot = 0.0
                        for d in 0..<HS {
                            dot += Double(q[(b * T + i) * rowStride + h * HS + d]) * Double(k[(b * T + j) * rowStride + kvh * HS + d])
                        }
                        scores[j] = dot * scale
                    }
                    let m = allowed.map { scores[$0] }.max()!
                    let total = allowed.map { exp(scores[$0] - m) }.reduce(0, +)
                    for j in allowed { weights[j] = exp(scores[j] - m) / total }
                }
                for j in 0..<T { probs[((b * NH + h) * T + i) * T + j] = Float(weights[j]) }
                for d in 0..<HS {
                    var sum = 0.0
                    for j in 0..<T where weights[j] != 0 {
                        sum += weights[j] * Double(v[(b * T + j) * rowStride + kvh * HS + d])
                    }
                    out[((b * T + i) * NH + h) * HS + d] = Float(sum)
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
