#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Dispatch

// Kernels for KV-cached decoding, where a step processes one (or a few) tokens per sequence.
// Letters: B batch, T new tokens per sequence, S cache slots, NH query heads, KVH kv heads, G = NH / KVH,
// HS head size, N rows, IC input channels, OC output channels.

/// out (N, OC) = input (N, IC) · weightᵀ + bias, split by output columns over `Parallel.threadCount` threads
/// even for N = 1: a decode step is bound by reading the weights, so both cores should stream them.
/// A single row uses `sgemv`, which reads the weights once without packing them.
/// Call it with BLAS set to one thread (`BLAS.singleThreaded`), as the decode step does.
public func matmulDecode(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int
) {
    _ = BLAS.ready
    let chunks = IC &* OC >= 65_536 ? min(Parallel.threadCount, max(1, OC / 64)) : 1
    let run = { (chunk: Int) in
        let o0 = (OC * chunk / chunks) & ~15, o1 = chunk + 1 == chunks ? OC : (OC * (chunk + 1) / chunks) & ~15
        guard o1 > o0 else { return }
        if let bias {
            for n in 0..<N { (out + n &* OC + o0).update(from: bias + o0, count: o1 - o0) }
        }
        let beta: Float = bias == nil ? 0 : 1
        if N > 1 && N <= smallBatchRows {
            matmulSmallBatch(out: out, input: input, weight: weight, bias: bias, rows: N, inChannels: IC,
                             outChannels: OC, columns: o0..<o1)
        } else if N == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(o1 - o0), Int32(IC), 1, weight + o0 * IC, Int32(IC),
                        input, 1, beta, out + o0, 1)
        } else {
            BLAS.sgemm(
                transA: false, transB: true, m: N, n: o1 - o0, k: IC, alpha: 1, a: input, lda: IC,
                b: weight + o0 * IC, ldb: IC, beta: beta, c: out + o0, ldc: OC)
        }
    }
    spinningPerform(chunks: chunks, run)
}

/// Up to this many rows, `matmulDecode` streams each weight row once past all input rows instead of calling
/// sgemm, whose packing of the whole weight matrix costs more than the product at a handful of rows.
public let smallBatchRows = 16

/// out[:, columns] = input · weight[columns]ᵀ + bias for a few rows: each weight row is read once and
/// dotted with up to four input rows (two weight rows at a time, eight SIMD8 accumulators); output blocks of 32 weight rows
/// stay in cache for the next group of four input rows.
func matmulSmallBatch(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int, columns: Range<Int>
) {
    let vectorEnd = IC & ~7
    var block = columns.lowerBound
    while block < columns.upperBound {
        let blockEnd = min(block &+ 32, columns.upperBound)
        var r0 = 0
        while r0 < N {
            let count = min(4, N &- r0)
            let x0 = input + r0 &* IC
            let x1 = count > 1 ? x0 + IC : x0
            let x2 = count > 2 ? x0 + 2 &* IC : x0
            let x3 = count > 3 ? x0 + 3 &* IC : x0
            // Two weight rows at a time: 6 loads feed 8 FMAs.
            var o = block
            while o < blockEnd {
                let pair = o &+ 1 < blockEnd
                let w = weight + o &* IC, v = pair ? w + IC : w
                var a0 = Float8(), a1 = Float8(), a2 = Float8(), a3 = Float8()
                var c0 = Float8(), c1 = Float8(), c2 = Float8(), c3 = Float8()
                var k = 0
                while k < vectorEnd {
                    let wv = UnsafeRawPointer(w + k).loadUnaligned(as: Float8.self)
                    let vv = UnsafeRawPointer(v + k).loadUnaligned(as: Float8.self)
                    let y0 = UnsafeRawPointer(x0 + k).loadUnaligned(as: Float8.self)
                    let y1 = UnsafeRawPointer(x1 + k).loadUnaligned(as: Float8.self)
                    let y2 = UnsafeRawPointer(x2 + k).loadUnaligned(as: Float8.self)
                    let y3 = UnsafeRawPointer(x3 + k).loadUnaligned(as: Float8.self)
                    a0 += wv * y0; a1 += wv * y1; a2 += wv * y2; a3 += wv * y3
                    c0 += vv * y0; c1 += vv * y1; c2 += vv * y2; c3 += vv * y3
                    k &+= 8
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                var t0 = c0.sum(), t1 = c1.sum(), t2 = c2.sum(), t3 = c3.sum()
                while k < IC {
                    s0 += w[k] * x0[k]; s1 += w[k] * x1[k]; s2 += w[k] * x2[k]; s3 += w[k] * x3[k]
                    t0 += v[k] * x0[k]; t1 += v[k] * x1[k]; t2 += v[k] * x2[k]; t3 += v[k] * x3[k]
                    k &+= 1
                }
                let b = bias?[o] ?? 0
                out[r0 &* OC &+ o] = s0 + b
                if count > 1 { out[(r0 &+ 1) &* OC &+ o] = s1 + b }
                if count > 2 { out[(r0 &+ 2) &* OC &+ o] = s2 + b }
                if count > 3 { out[(r0 &+ 3) &* OC &+ o] = s3 + b }
                if pair {
                    let c = bias?[o &+ 1] ?? 0, p = o &+ 1
                    out[r0 &* OC &+ p] = t0 + c
                    if count > 1 { out[(r0 &+ 1) &* OC &+ p] = t1 + c }
                    if count > 2 { out[(r0 &+ 2) &* OC &+ p] = t2 + c }
                    if count > 3 { out[(r0 &+ 3) &* OC &+ p] = t3 + c }
                }
                o &+= 2
            }
            r0 &+= 4
        }
        block = blockEnd
    }
}

/// Attention of T new queries per sequence over a KV cache whose slots 0..<start+T are filled
/// (the new tokens' keys and values already written at start..<start+T).
///
/// - out (B, T, NH, HS); q (B, T, NH, HS) with token rows `rowStride` apart (a slice of a fused qkv buffer).
/// - keys, values (B, S, KVH, HS): slot s of sequence b at (b·S + s)·KVH·HS.
/// - slotMask (B, S): 1 for real tokens, 0 for padding; a masked query gets a zero output.
/// - A query in slot p sees slots j ≤ p with p − j < slidingWindow (when set) whose mask is 1.
/// - scratch: at least `cachedAttentionScratchCount(...)` floats.
public func cachedAttentionForward(
    out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, rowStride: Int,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, slotMask: UnsafePointer<Float>,
    batch B: Int, newTokens T: Int, start: Int, slots S: Int,
    heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?,
    scratch: UnsafeMutablePointer<Float>
) {
    precondition(NH % KVH == 0 && start + T <= S, "bad cached attention sizes")
    precondition((slidingWindow ?? 1) > 0, "sliding window \(slidingWindow ?? 0) must be positive")
    let G = NH / KVH, KV = KVH * HS, outStride = NH * HS, end = start + T
    let scoreScale = 1 / Float(HS).squareRoot()
    let perThread = cachedAttentionScratchCount(newTokens: T, slots: S, heads: NH, kvHeads: KVH) / cachedAttentionThreads
    let items = B * KVH
    // The padding slots of each sequence, found once: usually a few at the start (left padding), so the
    // per-query masking below touches only them instead of every slot.
    let maskedSlots: [[Int]] = (0..<B).map { b in (0..<end).filter { slotMask[b * S + $0] <= 0 } }
    let work = items * G * T * end * HS * 4
    let chunks = Parallel.threadCount > 1 && work >= 300_000 ? min(Parallel.threadCount, items, cachedAttentionThreads) : 1
    let run = { (chunk: Int) in
        let scores = scratch + chunk * perThread
        for item in (items * chunk / chunks)..<(items * (chunk + 1) / chunks) {
            let b = item / KVH, kvh = item % KVH
            let kb = keys + b * S * KV + kvh * HS, vb = values + b * S * KV + kvh * HS
            let mask = slotMask + b * S
            let masked = maskedSlots[b]
            // One token: the G query heads of this kv head are G contiguous rows. Several: one head at a time,
            // its T tokens as rows.
            let blocks = T == 1 ? 1 : G
            let m = T == 1 ? G : T
            for block in 0..<blocks {
                let h = kvh * G + block
                let qb = q + b * T * rowStride + h * HS
                let lda = T == 1 ? HS : rowStride
                let ob = out + b * T * outStride + h * HS
                let ldo = T == 1 ? HS : outStride
                let lo = attentionWindowStart(query: start, slidingWindow: slidingWindow)
                let n = end - lo
                BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: HS, alpha: scoreScale,
                           a: qb, lda: lda, b: kb + lo * KV, ldb: KV, beta: 0, c: scores, ldc: n)
                for r in 0..<m {
                    let i = T == 1 ? 0 : r
                    let slot = start + i
                    let row = scores + r * n
                    guard mask[slot] > 0 else {
                        row.update(repeating: 0, count: n)
                        continue
                    }
                    let first = attentionWindowStart(query: slot, slidingWindow: slidingWindow) - lo
                    let last = slot - lo
                    if first > 0 { row.update(repeating: 0, count: first) }
                    if last + 1 < n { (row + last + 1).update(repeating: 0, count: n - last - 1) }
                    for slot in masked where slot - lo >= first && slot - lo <= last { row[slot - lo] = -.infinity }
                    let span = last + 1 - first
                    let mx = maxOf(row + first, span)
                    let sum = expShiftedSum(row + first, row + first, span, shift: mx)
                    for slot in masked where slot - lo >= first && slot - lo <= last { row[slot - lo] = 0 }
                    scale(row + first, span, by: 1 / sum)
                }
                BLAS.sgemm(transA: false, transB: false, m: m, n: HS, k: n, alpha: 1, a: scores, lda: n,
                           b: vb + lo * KV, ldb: KV, beta: 0, c: ob, ldc: ldo)
            }
        }
    }
    spinningPerform(chunks: chunks, run)
}

/// Threads `cachedAttentionForward` may use (its scratch holds one score block per thread).
public let cachedAttentionThreads = 2

/// Floats of scratch `cachedAttentionForward` needs for T new tokens over S slots.
public func cachedAttentionScratchCount(newTokens T: Int, slots S: Int, heads NH: Int, kvHeads KVH: Int) -> Int {
    cachedAttentionThreads * max(NH / KVH, T) * S
}
