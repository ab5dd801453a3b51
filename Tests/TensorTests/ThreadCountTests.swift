import Foundation
import Testing
@testable import Tensor

/// Kernels that split work between threads give the same results on 1, 2 and 3 threads, whatever the machine's
/// core count: the same floats where each thread computes its rows as one thread would (the bf16 products, cached
/// attention); within 1e-5 for OpenBLAS, whose kernels for a narrower column slice may sum in another order.
@Suite(.serialized) struct ThreadCountTests {
    static func onThreads<T: Equatable>(_ counts: [Int] = [1, 2, 3], _ body: () -> T) -> [T] {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        return counts.map { count in
            Parallel.threadCount = count
            return body()
        }
    }

    @Test func matrixProductsInBothPrecisions() {
        let (N, IC, OC) = (72, 200, 700)
        let x = KernelForwardTests.random(N * IC, seed: 31), w = KernelForwardTests.random(OC * IC, seed: 32)
        let dy = KernelForwardTests.random(N * OC, seed: 33)
        for precision in ProductPrecision.allCases {
            let results = Self.onThreads { () -> [Float] in
                var out = [Float](repeating: 0, count: N * OC), dx = [Float](repeating: 0, count: N * IC)
                var dw = [Float](repeating: 0, count: OC * IC)
                matmulForward(out: &out, input: x, weight: w, bias: nil, rows: N, inChannels: IC, outChannels: OC,
                              precision: precision)
                matmulBackward(dinput: &dx, dweight: &dw, dbias: nil, dout: dy, input: x, weight: w, rows: N,
                               inChannels: IC, outChannels: OC, precision: precision)
                return out + dx + dw
            }
            let worst = results.map { KernelForwardTests.maxError($0, results[0]) }.max() ?? 0
            #expect(precision == .bf16 ? worst == 0 : worst < 1e-5, "\(precision): \(worst)")
        }
    }

    @Test func cachedAttention() {
        let (B, T, S, NH, KVH, HS) = (3, 8, 64, 8, 4, 32)
        let start = S - T, Q = NH * HS, KV = KVH * HS
        let q = KernelForwardTests.random(B * T * Q, seed: 34)
        let keys = KernelForwardTests.random(B * S * KV, seed: 35)
        let values = KernelForwardTests.random(B * S * KV, seed: 36)
        var mask = [Float](repeating: 1, count: B * S)
        for s in 0..<5 { mask[S + s] = 0 }  // the second sequence left-padded
        let results = Self.onThreads { () -> [Float] in
            var out = [Float](repeating: 0, count: B * T * Q)
            var scratch = [Float](repeating: 0, count: cachedAttentionScratchCount(newTokens: T, slots: S, heads: NH,
                                                                                     kvHeads: KVH))
            cachedAttentionForward(out: &out, q: q, rowStride: Q, keys: keys, values: values, slotMask: mask, batch: B,
                                   newTokens: T, start: start, slots: S, heads: NH, kvHeads: KVH, headSize: HS,
                                   slidingWindow: nil, scratch: &scratch)
            return out
        }
        #expect(results.allSatisfy { $0 == results[0] })
    }

    /// The one split of every matrix product: slices that cover 0..<count once, start on multiples of `align`, are
    /// never narrower than 64 (but for a range that narrow), and are the same on either kind of thread.
    @Test func slicesCoverTheRangeOnceOnEitherThreads() {
        for count in [1, 63, 64, 200, 700, 1000, 4097] {
            for align in [8, 16] {
                let results = Self.onThreads { () -> [[Int]] in
                    [Parallel.Threads.dispatch, .spinning].map { threads in
                        let lock = NSLock()
                        var bounds: [Int] = []
                        forEachSlice(of: count, large: true, align: align, on: threads) { start, end in
                            lock.lock()
                            bounds += [start, end]
                            lock.unlock()
                        }
                        return bounds.sorted()
                    }
                }
                for (k, kinds) in results.enumerated() {
                    let bounds = kinds[0]
                    #expect(kinds[1] == bounds, "count \(count) align \(align) on \(k + 1) threads")
                    #expect(bounds.first == 0 && bounds.last == count)
                    let slices = stride(from: 0, to: bounds.count, by: 2).map { bounds[$0]..<bounds[$0 + 1] }
                    for (a, b) in zip(slices, slices.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                    #expect(slices.allSatisfy { $0.lowerBound % align == 0 && !$0.isEmpty })
                    #expect(slices.count == 1 || slices.allSatisfy { $0.count >= 64 - align })
                }
                // A product that is not large runs as one slice.
                var whole: [Range<Int>] = []
                forEachSlice(of: count, large: false, align: align) { whole.append($0..<$1) }
                #expect(whole == [0..<count])
            }
        }
    }

    @Test func decodeProducts() {
        let (IC, OC) = (256, 700)
        let w = KernelForwardTests.random(OC * IC, seed: 37), bias = KernelForwardTests.random(OC, seed: 38)
        let narrow = BF16Buffer(count: OC * IC)
        narrow.store(w, count: OC * IC, at: 0)
        for N in [1, 20] {
            let x = KernelForwardTests.random(N * IC, seed: 39)
            for bf16 in [false, true] {
                let results = Self.onThreads { () -> [Float] in
                    var out = [Float](repeating: 0, count: N * OC)
                    w.withUnsafeBufferPointer { w in
                        let weight = bf16 ? DecodeWeight.bf16(narrow.data) : .f32(w.baseAddress!)
                        BLAS.singleThreaded {
                            matmulDecode(out: &out, input: x, weight: weight, bias: bias, rows: N, inChannels: IC,
                                         outChannels: OC)
                        }
                    }
                    return out
                }
                // Up to `smallBatchRows` rows each column is its own dot product: the same floats on any split.
                let worst = results.map { KernelForwardTests.maxError($0, results[0]) }.max() ?? 0
                #expect(N <= smallBatchRows ? worst == 0 : worst < 1e-5, "N \(N) bf16 \(bf16): \(worst)")
            }
        }
    }
}
