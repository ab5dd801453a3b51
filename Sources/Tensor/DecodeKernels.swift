#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CKernels
import Dispatch
import Synchronization

// Kernels for KV-cached decoding, where a step processes one (or a few) tokens per sequence.
// Letters: B batch, T new tokens per sequence, S cache slots, NH query heads, KVH kv heads, G = NH / KVH,
// HS head size, N rows, IC input channels, OC output channels.

/// A weight matrix (OC, IC) as a decode step reads it: the fp32 parameters themselves, or a bf16 copy
/// (half the bytes to stream; products still accumulate in fp32).
public enum DecodeWeight {
    case f32(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt16>)
}

/// out (N, OC) = input (N, IC) · weightᵀ + bias, split by output columns over `Parallel.threadCount` threads
/// even for N = 1: a decode step is bound by reading the weights, so both cores should stream them.
/// Up to `smallBatchRows` rows, the C kernels read each weight row once for all rows (no packing); more rows
/// (a prompt) go to sgemm, a bf16 matrix widened to fp32 a block of rows at a time.
/// Call it with BLAS set to one thread (`BLAS.singleThreaded`), as the decode step does.
public func matmulDecode(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: DecodeWeight, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int, kernels: DecodeKernelSet = .current
) {
    _ = BLAS.ready
    let level = kernels.level
    // Column slices as `matmulForward`'s, split from 64K weights on: the step is bound by reading them.
    forEachSlice(of: OC, large: IC &* OC >= 65_536, align: 16, on: .spinning) { o0, o1 in
        if let bias {
            for n in 0..<N { (out + n &* OC + o0).update(from: bias + o0, count: o1 - o0) }
        }
        let accumulate: Int32 = bias == nil ? 0 : 1
        switch weight {
        case .f32(let w) where N <= smallBatchRows:
            t2g_dot_rows_f32(out + o0, OC, input, IC, N, w + o0 * IC, o1 - o0, IC, accumulate, level)
        case .bf16(let w) where N <= smallBatchRows:
            t2g_dot_rows_bf16(out + o0, OC, input, IC, N, w + o0 * IC, o1 - o0, IC, accumulate, level)
        case .f32(let w):
            BLAS.sgemm(
                transA: false, transB: true, m: N, n: o1 - o0, k: IC, alpha: 1, a: input, lda: IC,
                b: w + o0 * IC, ldb: IC, beta: Float(accumulate), c: out + o0, ldc: OC)
        case .bf16(let w):
            // Blocks of ~4 MB of fp32 rows: wide enough for sgemm to run at speed, small enough to stay in cache.
            let blockRows = max(16, (1 << 20) / max(IC, 1))
            let block = UnsafeMutablePointer<Float>.allocate(capacity: min(blockRows, o1 - o0) * IC)
            defer { block.deallocate() }
            for b0 in stride(from: o0, to: o1, by: blockRows) {
                let rows = min(blockRows, o1 - b0)
                t2g_bf16_to_f32(block, w + b0 * IC, rows * IC)
                BLAS.sgemm(
                    transA: false, transB: true, m: N, n: rows, k: IC, alpha: 1, a: input, lda: IC,
                    b: block, ldb: IC, beta: Float(accumulate), c: out + b0, ldc: OC)
            }
        }
    }
}

/// The instruction set of the decode kernels: the best the CPU has unless a lower one is chosen, to compare them.
public enum DecodeKernelSet: String, CaseIterable, Sendable {
    case portable, avx2, avx512

    /// The best set this CPU runs.
    public static let best = DecodeKernelSet(level: t2g_best_kernel_level())

    /// The sets this CPU runs, portable first.
    public static var available: [DecodeKernelSet] { allCases.filter { $0.level <= best.level } }

    /// The set decode steps use (process-wide): `best` unless set lower (`bench generate --kernels`).
    public static var current: DecodeKernelSet {
        get { DecodeKernelSet(level: chosen.load(ordering: .relaxed)) }
        set { chosen.store(min(newValue.level, best.level), ordering: .relaxed) }
    }
    private static let chosen = Atomic<Int32>(t2g_best_kernel_level())

    var level: Int32 {
        switch self {
        case .portable: Int32(T2G_KERNELS_PORTABLE)
        case .avx2: Int32(T2G_KERNELS_AVX2)
        case .avx512: Int32(T2G_KERNELS_AVX512)
        }
    }

    init(level: Int32) {
        switch level {
        case Int32(T2G_KERNELS_AVX512): self = .avx512
        case Int32(T2G_KERNELS_AVX2): self = .avx2
        default: self = .portable
        }
    }
}

/// `matmulDecode` of fp32 weights.
public func matmulDecode(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows N: Int, inChannels IC: Int, outChannels OC: Int, kernels: DecodeKernelSet = .current
) {
    matmulDecode(
        out: out, input: input, weight: .f32(weight), bias: bias, rows: N, inChannels: IC, outChannels: OC,
        kernels: kernels)
}

/// Up to this many rows, `matmulDecode` streams each weight row once past all input rows instead of calling
/// sgemm, whose packing of the whole weight matrix costs more than the product at a handful of rows.
public let smallBatchRows = 16

/// bf16 copies of fp32 values, rounded to nearest (ties to even), in one allocation.
// Unchecked Sendable: raw memory, written when made and read-only after.
public final class BF16Buffer: @unchecked Sendable {
    public let count: Int
    public let data: UnsafeMutablePointer<UInt16>

    public init(count: Int) {
        precondition(count >= 0, "negative bf16 buffer size")
        self.count = count
        // Huge-page backed as the fp32 arenas are: `allocateFloats` sizes in 4-byte units.
        data = UnsafeMutableRawPointer(allocateFloats(max(1, (count + 1) / 2))).bindMemory(to: UInt16.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { data.deallocate() }

    /// Narrows `count` floats into the buffer at `offset`.
    public func store(_ values: UnsafePointer<Float>, count: Int, at offset: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count, "bf16 store out of range")
        t2g_f32_to_bf16(data + offset, values, count)
    }
}

/// Attention of T new queries per sequence over a KV cache whose slots 0..<start+T are filled
/// (the new tokens' keys and values already written at start..<start+T).
///
/// - out (B, T, NH, HS); q (B, T, NH, HS) with token rows `rowStride` apart (a slice of a fused qkv buffer).
/// - keys, values (B, S, KVH, HS): slot s of sequence b at (b·S + s)·KVH·HS.
/// - slotMask (B, S): 1 for real tokens, 0 for padding; a masked query gets a zero output.
/// - A query in slot p sees slots j ≤ p with p − j < slidingWindow (when set) whose mask is 1: a windowed layer
///   reads only its last `slidingWindow` slots.
/// - scale: the factor on q·k, 1/√HS when nil.
/// - scratch: at least `cachedAttentionScratchCount(...)` floats.
public func cachedAttentionForward(
    out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, rowStride: Int,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, slotMask: UnsafePointer<Float>,
    batch B: Int, newTokens T: Int, start: Int, slots S: Int,
    heads NH: Int, kvHeads KVH: Int, headSize HS: Int, slidingWindow: Int?, scale scaleOverride: Float? = nil,
    scratch: UnsafeMutablePointer<Float>
) {
    precondition(NH % KVH == 0 && start + T <= S, "bad cached attention sizes")
    precondition((slidingWindow ?? 1) > 0, "sliding window \(slidingWindow ?? 0) must be positive")
    let G = NH / KVH, KV = KVH * HS, outStride = NH * HS, end = start + T
    let scoreScale = scaleOverride ?? 1 / Float(HS).squareRoot()
    let perThread = cachedAttentionScratchCount(newTokens: T, slots: S, heads: NH, kvHeads: KVH) / cachedAttentionThreads
    let items = B * KVH
    // The padding slots of each sequence, found once: usually a few at the start (left padding), so the
    // per-query masking below touches only them instead of every slot.
    let maskedSlots: [[Int]] = (0..<B).map { b in (0..<end).filter { slotMask[b * S + $0] <= 0 } }
    let work = items * G * T * end * HS * 4
    let chunks = Parallel.threadCount > 1 && work >= 300_000 ? min(Parallel.threadCount, items, cachedAttentionThreads) : 1
    Parallel.split(items, into: chunks, on: .spinning) { chunk, range in
        let scores = scratch + chunk * perThread
        for item in range {
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
}

/// Threads `cachedAttentionForward` may use (its scratch holds one score block per thread): every core, up to the
/// decode pool's eight (`SpinningPool.shared`: seven workers and the caller).
public let cachedAttentionThreads = min(8, max(1, Compute.coreCount))

/// Floats of scratch `cachedAttentionForward` needs for T new tokens over S slots.
public func cachedAttentionScratchCount(newTokens T: Int, slots S: Int, heads NH: Int, kvHeads KVH: Int) -> Int {
    cachedAttentionThreads * max(NH / KVH, T) * S
}
