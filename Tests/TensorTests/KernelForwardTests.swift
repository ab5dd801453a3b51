import Testing
import Tensor

/// Each fast kernel held to its naive reference on random inputs of awkward sizes:
/// odd T, C not a multiple of 8, one head and many heads, sliding windows and padding.
@Suite struct KernelForwardTests {
    /// Random values in [-scale, scale), reproducible.
    static func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: [(1, 1, 1), (7, 13, 5), (33, 77, 129), (64, 576, 96)])
    func matmulMatchesNaive(rows N: Int, inChannels IC: Int, outChannels OC: Int) {
        let x = Self.random(N * IC, seed: 1), w = Self.random(OC * IC, seed: 2), bias = Self.random(OC, seed: 3)
        for withBias in [false, true] {
            var fast = [Float](repeating: 0, count: N * OC), naive = fast
            bias.withUnsafeBufferPointer { b in
                let biasPointer = withBias ? b.baseAddress : nil
                matmulForward(out: &fast, input: x, weight: w, bias: biasPointer, rows: N, inChannels: IC, outChannels: OC)
                matmulForwardNaive(out: &naive, input: x, weight: w, bias: biasPointer, rows: N, inChannels: IC, outChannels: OC)
            }
            #expect(Self.maxError(fast, naive) < 1e-4 * Float(IC).squareRoot(), "N \(N) IC \(IC) OC \(OC) bias \(withBias)")
        }
    }

    @Test func matmulGivesTheSameResultOnOneOrTwoThreads() {
        // Large enough to be split between threads; each thread computes its columns as one thread would.
        let (N, IC, OC) = (96, 200, 1000)
        let x = Self.random(N * IC, seed: 4), w = Self.random(OC * IC, seed: 5)
        var one = [Float](repeating: 0, count: N * OC), two = one
        let saved = Parallel.threadCount
        Parallel.threadCount = 1
        matmulForward(out: &one, input: x, weight: w, bias: nil, rows: N, inChannels: IC, outChannels: OC)
        Parallel.threadCount = 2
        matmulForward(out: &two, input: x, weight: w, bias: nil, rows: N, inChannels: IC, outChannels: OC)
        Parallel.threadCount = saved
        #expect(Self.maxError(one, two) < 1e-5)
    }

    @Test(arguments: [(1, 1), (5, 7), (17, 576), (3, 1001)])
    func rmsNormMatchesNaive(rows N: Int, channels C: Int) {
        let x = Self.random(N * C, seed: 6, scale: 3), w = Self.random(C, seed: 7)
        var fast = [Float](repeating: 0, count: N * C), naive = fast, rstd = [Float](repeating: 0, count: N)
        rmsNormForward(out: &fast, rstd: &rstd, input: x, weight: w, rows: N, channels: C, eps: 1e-5)
        rmsNormForwardNaive(out: &naive, input: x, weight: w, rows: N, channels: C, eps: 1e-5)
        #expect(Self.maxError(fast, naive) < 1e-5)
    }

    @Test(arguments: [(1, 1, 2), (7, 3, 6), (9, 9, 64), (5, 2, 34)])
    func rotaryMatchesNaive(tokens N: Int, heads H: Int, headSize HS: Int) {
        let rowStride = H * HS + 3  // rows padded, as q inside a fused qkv row
        let x = Self.random(N * rowStride, seed: 8)
        let rotary = RotaryEmbedding(headSize: HS, theta: 10_000)
        let (cos, sin) = rotary.table(positions: (0..<N).map { Int32($0 * 3) }, length: N)
        var fast = x, naive = x
        rotaryForward(x: &fast, rowStride: rowStride, cos: cos, sin: sin, tokens: N, heads: H, headSize: HS)
        rotaryForwardNaive(x: &naive, rowStride: rowStride, cos: cos, sin: sin, tokens: N, heads: H, headSize: HS)
        #expect(Self.maxError(fast, naive) < 1e-6)
        #expect(Self.maxError(Array(fast[(H * HS)..<rowStride]), Array(x[(H * HS)..<rowStride])) == 0, "padding untouched")
    }

    @Test func rotaryScalingsFollowTransformers() {
        // inv_freq values from transformers' _compute_*_rope_parameters for head_dim 8.
        let plain = RotaryEmbedding(headSize: 8, theta: 10_000).inverseFrequencies(sequenceLength: 10)
        #expect(zip(plain, [1, 0.1, 0.01, 0.001] as [Float]).allSatisfy { abs($0 - $1) < 1e-7 })
        let linear = RotaryEmbedding(headSize: 8, theta: 10_000, scaling: .linear(factor: 4)).inverseFrequencies(sequenceLength: 10)
        #expect(zip(linear, plain).allSatisfy { abs($0 - $1 / 4) < 1e-9 })
        let dynamic = RotaryEmbedding(headSize: 8, theta: 10_000, scaling: .dynamic(factor: 2, maxPositions: 16))
        #expect(dynamic.inverseFrequencies(sequenceLength: 16) == plain, "unchanged up to the maximum length")
        // Past it the base grows: base · (2·32/16 − 1)^(8/6).
        let grown = Float(10_000 * pow(3.0, 8.0 / 6.0))
        #expect(abs(dynamic.inverseFrequencies(sequenceLength: 32)[1] - 1 / powf(grown, 0.25)) < 1e-7)
    }

    @Test(arguments: [
        (1, 1, 1, 1, 8, nil), (2, 7, 4, 2, 6, nil), (1, 65, 3, 1, 16, nil), (2, 130, 2, 2, 8, 5), (1, 9, 8, 8, 4, 3),
    ] as [(Int, Int, Int, Int, Int, Int?)])
    func attentionMatchesNaive(batch B: Int, time T: Int, heads NH: Int, kvHeads KVH: Int, headSize HS: Int, window: Int?) {
        let rowStride = (NH + 2 * KVH) * HS
        let qkv = Self.random(B * T * rowStride, seed: 9, scale: 2)
        // Left padding in the last sequence, right padding in the first: both must be masked.
        var mask = [Float](repeating: 1, count: B * T)
        if B > 1 { for t in 0..<min(3, T - 1) { mask[(B - 1) * T + t] = 0 } }
        if T > 2 { mask[T - 1] = 0 }
        var fastOut = [Float](repeating: 0, count: B * T * NH * HS), naiveOut = fastOut
        var fastProbs = [Float](repeating: 9, count: B * NH * T * T), naiveProbs = fastProbs
        qkv.withUnsafeBufferPointer { p in
            let q = p.baseAddress!, k = q + NH * HS, v = k + KVH * HS
            attentionForward(out: &fastOut, probs: &fastProbs, q: q, k: k, v: v, rowStride: rowStride, keyMask: mask,
                             batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window)
            attentionForwardNaive(out: &naiveOut, probs: &naiveProbs, q: q, k: k, v: v, rowStride: rowStride, keyMask: mask,
                                  batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window)
        }
        #expect(Self.maxError(fastOut, naiveOut) < 1e-5)
        #expect(Self.maxError(fastProbs, naiveProbs) < 1e-6, "every probability, masked ones 0")
    }

    @Test(arguments: [(1, 1), (3, 7), (4, 1536), (2, 1001)])
    func swigluMatchesNaive(rows N: Int, channels I: Int) {
        let gateUp = Self.random(N * 2 * I, seed: 10, scale: 8)
        var fast = [Float](repeating: 0, count: N * I), naive = fast
        swigluForward(out: &fast, gateUp: gateUp, rows: N, channels: I)
        swigluForwardNaive(out: &naive, gateUp: gateUp, rows: N, channels: I)
        let worst = zip(fast, naive).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-6)
    }

    @Test(arguments: [(1, 1), (3, 7), (5, 49152), (2, 1003)])
    func crossEntropyMatchesNaive(rows N: Int, columns V: Int) {
        let x = Self.random(N * V, seed: 11, scale: 20)
        var naiveLog = [Float](repeating: 0, count: N * V)
        logSoftmaxForwardNaive(out: &naiveLog, input: x, rows: N, columns: V)
        let targets: [Int32] = (0..<N).map { $0 == 0 ? -1 : Int32(($0 * 7919) % V) }
        var losses = [Float](repeating: 7, count: N)
        crossEntropyForward(losses: &losses, logits: x, targets: targets, rows: N, columns: V)
        for n in 0..<N {
            let expected = targets[n] < 0 ? 0 : -naiveLog[n * V + Int(targets[n])]
            #expect(abs(losses[n] - expected) < 2e-5, "row \(n)")
        }
    }

    @Test func fastExpIsAccurate() {
        var worst: Double = 0
        for i in stride(from: -87.0, through: 88.0, by: 0.0137) {
            let approx = fastExp(Float(i)), exact = exp(Double(Float(i)))
            worst = max(worst, abs(Double(approx) - exact) / exact)
        }
        #expect(worst < 3e-7, "max relative error \(worst)")
        #expect(fastExp(-1000) < 1e-37 && fastExp(-1000) >= 0)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
