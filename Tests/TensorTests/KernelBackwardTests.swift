import Testing
@testable import Tensor

/// Each backward kernel against central finite differences of its forward, on awkward sizes.
///
/// The scalar checked is L = Σ dy · forward(x) with random dy, accumulated in Double; h = 1e-2 on inputs of
/// size ~1 keeps fp32 rounding of the outputs below ~1e-4 of the gradients, so the tolerance is
/// 2e-3 · max|gradient| (a wrong formula is off by O(1)).
@Suite struct KernelBackwardTests {
    let rng = BackwardTestRandom(seed: 7)

    /// Max |analytic − numeric| over `count` inputs at `x`, relative to the largest numeric gradient.
    static func check(
        _ name: String, x: UnsafeMutablePointer<Float>, count: Int, analytic: UnsafePointer<Float>,
        h: Float = 1e-2, every: Int = 1, loss: () -> Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var worst = 0.0, largest = 1e-6
        for i in stride(from: 0, to: count, by: every) {
            let saved = x[i]
            x[i] = saved + h
            let plus = loss()
            x[i] = saved - h
            let minus = loss()
            x[i] = saved
            let numeric = (plus - minus) / (2 * Double(h))
            worst = max(worst, abs(numeric - Double(analytic[i])))
            largest = max(largest, abs(numeric))
        }
        #expect(worst <= 2e-3 * largest, "\(name): max |Δ| = \(worst), max |grad| = \(largest)", sourceLocation: sourceLocation)
    }

    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = rng.normal() * scale }
        return t
    }

    @Test(arguments: [1, 2])
    func matmul(threads: Int) {
        Parallel.threadCount = threads
        defer { Parallel.threadCount = 2 }
        let N = 7, IC = 13, OC = 19
        let x = random([N, IC]), w = random([OC, IC]), bias = random([OC]), dy = random([N, OC])
        let dx = Tensor(shape: [N, IC]), dw = Tensor(shape: [OC, IC]), db = Tensor(shape: [OC])
        matmulBackward(dinput: dx.data, dweight: dw.data, dbias: db.data, dout: dy.data, input: x.data, weight: w.data,
                       rows: N, inChannels: IC, outChannels: OC)
        let out = Tensor(shape: [N, OC])
        let loss = { matmulForward(out: out.data, input: x.data, weight: w.data, bias: bias.data, rows: N, inChannels: IC, outChannels: OC); return Self.dot(out, dy) }
        Self.check("matmul dinput", x: x.data, count: x.count, analytic: dx.data, loss: loss)
        Self.check("matmul dweight", x: w.data, count: w.count, analytic: dw.data, loss: loss)
        Self.check("matmul dbias", x: bias.data, count: bias.count, analytic: db.data, loss: loss)
    }

    /// Large enough for the threaded column split; held to the naive loops, accumulating onto nonzero gradients.
    @Test func matmulThreadedMatchesNaive() {
        Parallel.threadCount = 2
        let N = 67, IC = 150, OC = 401
        let x = random([N, IC]), w = random([OC, IC]), dy = random([N, OC])
        let start = random([N, IC]), startW = random([OC, IC]), startB = random([OC])
        let fast = (Tensor(shape: [N, IC], values: start.array), Tensor(shape: [OC, IC], values: startW.array), Tensor(shape: [OC], values: startB.array))
        let slow = (Tensor(shape: [N, IC], values: start.array), Tensor(shape: [OC, IC], values: startW.array), Tensor(shape: [OC], values: startB.array))
        matmulBackward(dinput: fast.0.data, dweight: fast.1.data, dbias: fast.2.data, dout: dy.data, input: x.data, weight: w.data,
                       rows: N, inChannels: IC, outChannels: OC)
        matmulBackwardNaive(dinput: slow.0.data, dweight: slow.1.data, dbias: slow.2.data, dout: dy.data, input: x.data, weight: w.data,
                            rows: N, inChannels: IC, outChannels: OC)
        for (a, b) in [(fast.0, slow.0), (fast.1, slow.1), (fast.2, slow.2)] {
            var worst: Float = 0
            for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
            #expect(worst < 1e-3, "max |Δ| = \(worst)")
        }
    }

    @Test func rmsNorm() {
        let N = 5, C = 19
        let x = random([N, C]), w = random([C]), dy = random([N, C])
        let out = Tensor(shape: [N, C]), rstd = Tensor(shape: [N])
        rmsNormForward(out: out.data, rstd: rstd.data, input: x.data, weight: w.data, rows: N, channels: C, eps: 1e-5)
        let dx = Tensor(shape: [N, C]), dw = Tensor(shape: [C])
        rmsNormBackward(dinput: dx.data, dweight: dw.data, dout: dy.data, input: x.data, weight: w.data, rstd: rstd.data, rows: N, channels: C)
        let loss = { rmsNormForward(out: out.data, rstd: nil, input: x.data, weight: w.data, rows: N, channels: C, eps: 1e-5); return Self.dot(out, dy) }
        Self.check("rmsnorm dinput", x: x.data, count: x.count, analytic: dx.data, loss: loss)
        Self.check("rmsnorm dweight", x: w.data, count: w.count, analytic: dw.data, loss: loss)
    }

    @Test func rotary() {
        let N = 5, H = 3, HS = 6, stride = 25
        let x = random([N, stride]), dy = random([N, stride])
        let angles = random([N, HS / 2], scale: 3)
        let cos = Tensor(shape: angles.shape, values: angles.array.map { Foundation.cos($0) })
        let sin = Tensor(shape: angles.shape, values: angles.array.map { Foundation.sin($0) })
        // Only the first H·HS floats of each row rotate; the rest must pass through untouched.
        let dx = Tensor(shape: dy.shape, values: dy.array)
        rotaryBackward(dx: dx.data, rowStride: stride, cos: cos.data, sin: sin.data, tokens: N, heads: H, headSize: HS)
        let out = Tensor(shape: x.shape)
        let loss = {
            out.data.update(from: x.data, count: x.count)
            rotaryForward(x: out.data, rowStride: stride, cos: cos.data, sin: sin.data, tokens: N, heads: H, headSize: HS)
            return Self.dot(out, dy)
        }
        Self.check("rotary", x: x.data, count: x.count, analytic: dx.data, loss: loss)
    }

    @Test func swiglu() {
        let N = 5, I = 21
        let gateUp = random([N, 2 * I], scale: 2), dy = random([N, I])
        let dgu = random([N, 2 * I])
        let start = dgu.array
        swigluBackward(dgateUp: dgu.data, dout: dy.data, gateUp: gateUp.data, rows: N, channels: I)
        for i in 0..<dgu.count { dgu[i] -= start[i] }  // accumulation: subtract what was there
        let out = Tensor(shape: [N, I])
        let loss = { swigluForward(out: out.data, gateUp: gateUp.data, rows: N, channels: I); return Self.dot(out, dy) }
        Self.check("swiglu", x: gateUp.data, count: gateUp.count, analytic: dgu.data, loss: loss)
    }

    @Test(arguments: [nil, 5] as [Int?])
    func attention(slidingWindow: Int?) {
        Parallel.threadCount = 2
        let B = 2, T = 70, NH = 4, KVH = 2, HS = 5
        let Q = NH * HS, KV = KVH * HS, stride = Q + 2 * KV
        let qkv = random([B * T, stride]), dy = random([B * T, Q])
        var mask = [Float](repeating: 1, count: B * T)
        for t in 60..<T { mask[T + t] = 0 }  // the second sequence is right-padded
        mask[T + 3] = 0                      // and has a hole
        let out = Tensor(shape: [B * T, Q]), probs = Tensor(shape: [B, NH, T, T])
        attentionForward(out: out.data, probs: probs.data, q: qkv.data, k: qkv.data + Q, v: qkv.data + Q + KV, rowStride: stride,
                         keyMask: mask, batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: slidingWindow)
        let dqkv = Tensor(shape: qkv.shape)
        attentionBackward(dq: dqkv.data, dk: dqkv.data + Q, dv: dqkv.data + Q + KV, dout: dy.data, probs: probs.data,
                          q: qkv.data, k: qkv.data + Q, v: qkv.data + Q + KV, rowStride: stride,
                          batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: slidingWindow)
        let loss = {
            attentionForward(out: out.data, probs: probs.data, q: qkv.data, k: qkv.data + Q, v: qkv.data + Q + KV, rowStride: stride,
                             keyMask: mask, batch: B, time: T, heads: NH, kvHeads: KVH, headSize: HS, slidingWindow: slidingWindow)
            return Self.dot(out, dy)
        }
        // Every 5th input (an odd stride over rows of 40 visits q, k and v of every head and both sequences).
        Self.check("attention", x: qkv.data, count: qkv.count, analytic: dqkv.data, every: 5, loss: loss)
    }

    @Test func crossEntropy() {
        let N = 4, V = 37
        let logits = random([N, V], scale: 2)
        let targets: [Int32] = [3, -1, 36, 0]
        let dlosses = Tensor(shape: [N], values: [0.5, 0.7, -1.3, 2])
        let dlogits = Tensor(shape: [N, V])
        crossEntropyBackward(dlogits: dlogits.data, dlosses: dlosses.data, logits: logits.data, targets: targets, rows: N, columns: V)
        let losses = Tensor(shape: [N])
        let loss = { crossEntropyForward(losses: losses.data, logits: logits.data, targets: targets, rows: N, columns: V); return Self.dot(losses, dlosses) }
        Self.check("cross-entropy", x: logits.data, count: logits.count, analytic: dlogits.data, loss: loss)
        // In place: dlogits may alias logits.
        let copy = Tensor(shape: logits.shape, values: logits.array)
        crossEntropyBackward(dlogits: copy.data, dlosses: dlosses.data, logits: copy.data, targets: targets, rows: N, columns: V)
        #expect(copy.array == dlogits.array)
    }

    @Test func embedding() {
        let N = 6, C = 5, V = 4
        let table = random([V, C]), dy = random([N, C])
        let ids: [Int32] = [0, 3, 3, 1, 0, 3]
        let dtable = Tensor(shape: [V, C])
        embeddingBackward(dtable: dtable.data, dout: dy.data, ids: ids, tokens: N, channels: C)
        let out = Tensor(shape: [N, C])
        let loss = { embeddingForward(out: out.data, ids: ids, table: table.data, tokens: N, channels: C); return Self.dot(out, dy) }
        Self.check("embedding", x: table.data, count: table.count, analytic: dtable.data, loss: loss)
    }
}

/// A seedable generator for test inputs (Tensor has no RNG of its own).
final class BackwardTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

import Foundation
