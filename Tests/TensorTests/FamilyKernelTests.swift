import Foundation
import Testing
@testable import Tensor

/// The kernels Qwen3 and Gemma 3 add (per-head RMSNorm, offset norm weights, GeGLU, logit softcapping, an attention
/// scale of their own): each fast forward held to its naive reference, each backward to finite differences of
/// its forward (the method and tolerance of `KernelBackwardTests`).
@Suite struct FamilyKernelTests {
    let rng = BackwardTestRandom(seed: 11)

    func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = rng.normal() * scale }
        return t
    }

    @Test(arguments: [(1, 1, 8, 8), (5, 3, 6, 25), (7, 2, 19, 40)])
    func headNormMatchesNaive(tokens N: Int, heads H: Int, headSize HS: Int, stride: Int) {
        // Rows wider than the heads (a slice of a fused qkv row), written into rows of another stride.
        let x = random([N, stride], scale: 3), w = random([HS])
        for offset: Float in [0, 1] {
            let fast = Tensor(shape: [N, stride + 5]), naive = Tensor(shape: [N, stride + 5])
            headRMSNormForward(out: fast.data, outputStride: stride + 5, rstd: nil, input: x.data, inputStride: stride,
                               weight: w.data, weightOffset: offset, tokens: N, heads: H, headSize: HS, eps: 1e-6)
            headRMSNormForwardNaive(out: naive.data, outputStride: stride + 5, input: x.data, inputStride: stride,
                                    weight: w.data, weightOffset: offset, tokens: N, heads: H, headSize: HS, eps: 1e-6)
            var worst: Float = 0
            for i in 0..<fast.count { worst = max(worst, abs(fast[i] - naive[i])) }
            #expect(worst < 1e-5, "offset \(offset): max |Δ| = \(worst)")
            // Only the heads are written: the rest of each output row stays 0.
            #expect((0..<N).allSatisfy { n in (H * HS..<stride + 5).allSatisfy { fast[n * (stride + 5) + $0] == 0 } })
        }
    }

    @Test func headNormInPlaceEqualsOutOfPlace() {
        let N = 4, H = 3, HS = 10, stride = 35
        let x = random([N, stride]), w = random([HS])
        let out = Tensor(shape: [N, stride], values: x.array), inPlace = Tensor(shape: [N, stride], values: x.array)
        headRMSNormForward(out: out.data, outputStride: stride, rstd: nil, input: x.data, inputStride: stride, weight: w.data,
                           tokens: N, heads: H, headSize: HS, eps: 1e-6)
        headRMSNormForward(out: inPlace.data, outputStride: stride, rstd: nil, input: inPlace.data, inputStride: stride,
                           weight: w.data, tokens: N, heads: H, headSize: HS, eps: 1e-6)
        #expect(out.array == inPlace.array)
    }

    @Test(arguments: [0, 1] as [Float])
    func rmsNormWithOffset(offset: Float) {
        let N = 5, C = 19
        let x = random([N, C]), w = random([C]), dy = random([N, C])
        let out = Tensor(shape: [N, C]), naive = Tensor(shape: [N, C]), rstd = Tensor(shape: [N])
        rmsNormForward(out: out.data, rstd: rstd.data, input: x.data, weight: w.data, rows: N, channels: C, eps: 1e-5, weightOffset: offset)
        rmsNormForwardNaive(out: naive.data, input: x.data, weight: w.data, rows: N, channels: C, eps: 1e-5, weightOffset: offset)
        #expect((0..<out.count).allSatisfy { abs(out[$0] - naive[$0]) < 1e-5 })
        let dx = Tensor(shape: [N, C]), dw = Tensor(shape: [C])
        rmsNormBackward(dinput: dx.data, dweight: dw.data, dout: dy.data, input: x.data, weight: w.data, rstd: rstd.data,
                        rows: N, channels: C, weightOffset: offset)
        let loss = {
            rmsNormForward(out: out.data, rstd: nil, input: x.data, weight: w.data, rows: N, channels: C, eps: 1e-5, weightOffset: offset)
            return KernelBackwardTests.dot(out, dy)
        }
        KernelBackwardTests.check("rmsnorm+\(offset) dinput", x: x.data, count: x.count, analytic: dx.data, loss: loss)
        KernelBackwardTests.check("rmsnorm+\(offset) dweight", x: w.data, count: w.count, analytic: dw.data, loss: loss)
    }

    @Test(arguments: [0, 1] as [Float])
    func headNormGradient(offset: Float) {
        let N = 4, H = 3, HS = 6, inStride = 23, outStride = 20
        let x = random([N, inStride]), w = random([HS]), dy = random([N, outStride])
        let out = Tensor(shape: [N, outStride]), rstd = Tensor(shape: [N * H])
        headRMSNormForward(out: out.data, outputStride: outStride, rstd: rstd.data, input: x.data, inputStride: inStride,
                           weight: w.data, weightOffset: offset, tokens: N, heads: H, headSize: HS, eps: 1e-6)
        let dx = Tensor(shape: [N, inStride]), dw = Tensor(shape: [HS])
        headRMSNormBackward(dinput: dx.data, inputStride: inStride, dweight: dw.data, dout: dy.data, outputStride: outStride,
                            input: x.data, weight: w.data, weightOffset: offset, rstd: rstd.data, tokens: N, heads: H, headSize: HS)
        let loss = {
            headRMSNormForward(out: out.data, outputStride: outStride, rstd: nil, input: x.data, inputStride: inStride,
                               weight: w.data, weightOffset: offset, tokens: N, heads: H, headSize: HS, eps: 1e-6)
            return KernelBackwardTests.dot(out, dy)
        }
        KernelBackwardTests.check("head norm dinput", x: x.data, count: x.count, analytic: dx.data, loss: loss)
        KernelBackwardTests.check("head norm dweight", x: w.data, count: w.count, analytic: dw.data, loss: loss)
        // Floats between the heads get no gradient.
        #expect((0..<N).allSatisfy { n in (H * HS..<inStride).allSatisfy { dx[n * inStride + $0] == 0 } })
    }

    @Test(arguments: [(1, 1), (3, 7), (4, 1536), (2, 1001)])
    func gegluMatchesNaive(rows N: Int, channels I: Int) {
        let gateUp = KernelForwardTests.random(N * 2 * I, seed: 12, scale: 8)
        var fast = [Float](repeating: 0, count: N * I), naive = fast
        gegluForward(out: &fast, gateUp: gateUp, rows: N, channels: I)
        gegluForwardNaive(out: &naive, gateUp: gateUp, rows: N, channels: I)
        // Like PyTorch's, the kernel forms 1 + tanh(·) in fp32, which cancels for large negative gates: ~1e-7 · |g·u|.
        let worst = zip(fast, naive).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-5, "max error \(worst)")
    }

    @Test func gegluGradient() {
        let N = 5, I = 21
        let gateUp = random([N, 2 * I], scale: 2), dy = random([N, I])
        let dgu = random([N, 2 * I])
        let start = dgu.array
        gegluBackward(dgateUp: dgu.data, dout: dy.data, gateUp: gateUp.data, rows: N, channels: I)
        for i in 0..<dgu.count { dgu[i] -= start[i] }  // accumulation: subtract what was there
        let out = Tensor(shape: [N, I])
        let loss = { gegluForward(out: out.data, gateUp: gateUp.data, rows: N, channels: I); return KernelBackwardTests.dot(out, dy) }
        KernelBackwardTests.check("geglu", x: gateUp.data, count: gateUp.count, analytic: dgu.data, loss: loss)
    }

    @Test func softcapGradient() {
        let N = 1037, cap: Float = 5
        let x = random([N], scale: 8), dy = random([N])
        let capped = Tensor(shape: [N], values: x.array)
        softcapForward(capped.data, count: N, cap: cap)
        #expect((0..<N).allSatisfy { abs(capped[$0] - cap * Foundation.tanh(x[$0] / cap)) < 2e-6 })
        let dx = Tensor(shape: [N], values: dy.array)
        softcapBackward(dx.data, capped: capped.data, count: N, cap: cap)
        let out = Tensor(shape: [N])
        let loss = {
            out.data.update(from: x.data, count: N)
            softcapForward(out.data, count: N, cap: cap)
            return KernelBackwardTests.dot(out, dy)
        }
        KernelBackwardTests.check("softcap", x: x.data, count: N, analytic: dx.data, loss: loss)
    }

    @Test func fastTanhIsAccurate() {
        var worst: Double = 0
        for i in stride(from: -50.0, through: 50.0, by: 0.0093) {
            worst = max(worst, abs(Double(fastTanh(Float(i))) - Foundation.tanh(Double(Float(i)))))
        }
        #expect(worst < 3e-7, "max absolute error \(worst)")
        #expect(fastTanh(Float(200)) == 1 && fastTanh(Float(-200)) == -1)
    }

    /// A scale other than 1/√HS (Gemma's query_pre_attn_scalar) in the batch forward, its backward and the
    /// cached forward.
    @Test func attentionWithItsOwnScale() {
        Parallel.threadCount = 2
        let B = 1, T = 9, NH = 4, KVH = 2, HS = 6, scale: Float = 0.37, window = 4
        let Q = NH * HS, KV = KVH * HS, stride = Q + 2 * KV
        let qkv = random([B * T, stride]), dy = random([B * T, Q])
        let mask = [Float](repeating: 1, count: B * T)
        let out = Tensor(shape: [B * T, Q]), naive = Tensor(shape: [B * T, Q]), probs = Tensor(shape: [B, NH, T, T])
        attentionForward(out: out.data, probs: probs.data, q: qkv.data, k: qkv.data + Q, v: qkv.data + Q + KV, rowStride: stride,
                         keyMask: mask, batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window, scale: scale)
        let naiveProbs = Tensor(shape: probs.shape)
        attentionForwardNaive(out: naive.data, probs: naiveProbs.data, q: qkv.data, k: qkv.data + Q,
                              v: qkv.data + Q + KV, rowStride: stride, keyMask: mask, batch: B, time: T, heads: NH,
                              kvHeads: KVH, headSize: HS, slidingWindow: window, scale: scale)
        #expect((0..<out.count).allSatisfy { abs(out[$0] - naive[$0]) < 1e-5 })
        let dqkv = Tensor(shape: qkv.shape)
        attentionBackward(dq: dqkv.data, dk: dqkv.data + Q, dv: dqkv.data + Q + KV, dout: dy.data, probs: probs.data,
                          q: qkv.data, k: qkv.data + Q, v: qkv.data + Q + KV, rowStride: stride,
                          batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window, scale: scale)
        let loss = {
            attentionForward(out: out.data, probs: probs.data, q: qkv.data, k: qkv.data + Q, v: qkv.data + Q + KV, rowStride: stride,
                             keyMask: mask, batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window, scale: scale)
            return KernelBackwardTests.dot(out, dy)
        }
        KernelBackwardTests.check("attention with scale", x: qkv.data, count: qkv.count, analytic: dqkv.data, loss: loss)

        // The cached forward over the same keys and values, the last query as the new token.
        let keys = Tensor(shape: [T, KV]), values = Tensor(shape: [T, KV])
        for t in 0..<T {
            (keys.data + t * KV).update(from: qkv.data + t * stride + Q, count: KV)
            (values.data + t * KV).update(from: qkv.data + t * stride + Q + KV, count: KV)
        }
        let cached = Tensor(shape: [1, Q])
        let scratch = Tensor(shape: [cachedAttentionScratchCount(newTokens: 1, slots: T, heads: NH, kvHeads: KVH)])
        cachedAttentionForward(out: cached.data, q: qkv.data + (T - 1) * stride, rowStride: stride, keys: keys.data,
                               values: values.data, slotMask: mask, batch: 1, newTokens: 1, start: T - 1, slots: T,
                               heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: window, scale: scale, scratch: scratch.data)
        #expect((0..<Q).allSatisfy { abs(cached[$0] - naive[(T - 1) * Q + $0]) < 1e-5 })
    }
}
