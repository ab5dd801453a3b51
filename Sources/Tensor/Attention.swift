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
/// - slidingWindow: a query at i sees keys j with i − j < window (Mistral, Gemma's local layers), nil for unlimited.
/// - scale: the factor on q·k, 1/√HS when nil (Gemma sets its own).
public func attentionForward(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int,
    keyMask: UnsafePointer<Float>,
    batch B: Int, time T: Int, heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?,
    scale scaleOverride: Float? = nil
) {
    precondition(NH % KVH == 0, "heads \(NH) not a multiple of kv heads \(KVH)")
    // A window of 0 or less would make a row's first key lie after the query (writes before the row).
    precondition((slidingWindow ?? 1) > 0, "sliding window \(slidingWindow ?? 0) must be positive")
    let groupSize = NH / KVH
    let scoreScale = scaleOverride ?? 1 / Float(HS).squareRoot()
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

/// d ← p ∘ (d − Σ p·d) over one row: the softmax backward, in place on the gradient of the probabilities.
@inline(__always)
func softmaxRowBackward(d: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>, count: Int) {
    var i = 0
    var dot8 = Float8()
    while i &+ 8 <= count {
        dot8 += UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self) * UnsafeRawPointer(d + i).loadUnaligned(as: Float8.self)
        i &+= 8
    }
    var dot = dot8.sum()
    while i < count { dot += p[i] * d[i]; i &+= 1 }
    let dot8All = Float8(repeating: dot)
    i = 0
    while i &+ 8 <= count {
        let pv = UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
        let dv = UnsafeRawPointer(d + i).loadUnaligned(as: Float8.self)
        UnsafeMutableRawPointer(d + i).storeBytes(of: pv * (dv - dot8All), as: Float8.self)
        i &+= 8
    }
    while i < count { d[i] = p[i] * (d[i] - dot); i &+= 1 }
}

/// Queries per block in `attentionForward`: large enough for efficient products, small enough to skip
/// most of the masked upper triangle.
let attentionBlock = 64

/// The reference for `attentionForward`: explicit loops in Double, the same masking rules.
public func attentionForwardNaive(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int,
    keyMask: UnsafePointer<Float>,
    batch B: Int, time T: Int, heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?,
    scale scoreScale: Float? = nil
) {
    let groupSize = NH / KVH
    let scale = scoreScale.map(Double.init) ?? 1 / Double(HS).squareRoot()
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

/// The backward of `attentionForward`, accumulating into dq, dk, dv (laid out like q, k, v, with `rowStride`).
///
/// Per head, with P = probs and S the scaled scores: dP = dout·vᵀ, dv += Pᵀ·dout,
/// dS = P ∘ (dP − rowsum(P ∘ dP)), dq += dS·k·scale, dk += dSᵀ·q·scale. The same query blocks as the forward
/// skip the masked triangle. Threads take whole kv-head groups, so the query heads sharing a kv head never race.
public func attentionBackward(
    dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int,
    batch B: Int, time T: Int, heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?,
    scale scaleOverride: Float? = nil
) {
    precondition((slidingWindow ?? 1) > 0, "sliding window \(slidingWindow ?? 0) must be positive")
    let groupSize = NH / KVH
    let scoreScale = scaleOverride ?? 1 / Float(HS).squareRoot()
    let outStride = NH * HS
    BLAS.singleThreaded {
        Parallel.forEachChunk(count: B * KVH, costPerItem: 8 * groupSize * T * T * HS) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: attentionBlock * T)  // (64, T) dP then dS
            defer { scratch.deallocate() }
            for bg in range {
                let b = bg / KVH, kvh = bg % KVH
                let kb = k + b * T * rowStride + kvh * HS, vb = v + b * T * rowStride + kvh * HS
                let dkb = dk + b * T * rowStride + kvh * HS, dvb = dv + b * T * rowStride + kvh * HS
                for h in kvh * groupSize..<(kvh + 1) * groupSize {
                    let qbh = q + b * T * rowStride + h * HS, dqbh = dq + b * T * rowStride + h * HS
                    let doutbh = dout + b * T * outStride + h * HS
                    let att = probs + (b * NH + h) * T * T
                    for i0 in stride(from: 0, to: T, by: attentionBlock) {
                        let i1 = min(T, i0 + attentionBlock)
                        let lo = attentionWindowStart(query: i0, slidingWindow: slidingWindow)
                        let m = i1 - i0, n = i1 - lo
                        // dP = dout · vᵀ   — inverts `out = probs · v`
                        BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: HS, alpha: 1,
                                   a: doutbh + i0 * outStride, lda: outStride, b: vb + lo * rowStride, ldb: rowStride,
                                   beta: 0, c: scratch, ldc: n)
                        // dv += Pᵀ · dout
                        BLAS.sgemm(transA: true, transB: false, m: n, n: HS, k: m, alpha: 1,
                                   a: att + i0 * T + lo, lda: T, b: doutbh + i0 * outStride, ldb: outStride,
                                   beta: 1, c: dvb + lo * rowStride, ldc: rowStride)
                        // dS = P ∘ (dP − Σⱼ P·dP)   — inverts the softmax; masked entries have P = 0
                        for r in 0..<m {
                            softmaxRowBackward(d: scratch + r * n, p: att + (i0 + r) * T + lo, count: i0 + r + 1 - lo)
                            // keys after the query (inside the block's span) have P = 0, so dS = 0 there
                            let rowEnd = i0 + r + 1 - lo
                            if rowEnd < n { (scratch + r * n + rowEnd).update(repeating: 0, count: n - rowEnd) }
                        }
                        // dq += dS · k · scale; dk += dSᵀ · q · scale   — inverts `scores = q · kᵀ · scale`
                        BLAS.sgemm(transA: false, transB: false, m: m, n: HS, k: n, alpha: scoreScale,
                                   a: scratch, lda: n, b: kb + lo * rowStride, ldb: rowStride,
                                   beta: 1, c: dqbh + i0 * rowStride, ldc: rowStride)
                        BLAS.sgemm(transA: true, transB: false, m: n, n: HS, k: m, alpha: scoreScale,
                                   a: scratch, lda: n, b: qbh + i0 * rowStride, ldb: rowStride,
                                   beta: 1, c: dkb + lo * rowStride, ldc: rowStride)
                    }
                }
            }
        }
    }
}
