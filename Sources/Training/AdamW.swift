#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Tensor

/// AdamW hyper-parameters, with `torch.optim.AdamW`'s meaning.
public struct AdamWConfig: Sendable, Equatable, Codable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.0

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// AdamW over one parameter arena: the moments are two arenas with the parameters' table, so a step is one loop.
///
/// Per element, as `torch.optim.AdamW` (t counts from 1):
/// p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
public final class AdamW: @unchecked Sendable {
    public let config: AdamWConfig
    /// First and second moments, laid out like the parameters.
    public let m: TensorArena
    public let v: TensorArena
    /// Steps taken so far (t of the last step).
    public var step: Int = 0
    /// Per-element weight-decay factor 0 or 1, from `decay` per table entry.
    private let decayRanges: [Range<Int>]

    /// `decay(name, shape)` says which parameters get weight decay (default: all, as the torch fixture).
    public init(config: AdamWConfig, layout: [(name: String, shape: [Int])],
                decay: (String, [Int]) -> Bool = { _, _ in true }) {
        self.config = config
        m = TensorArena(layout: layout)
        v = TensorArena(layout: layout)
        var ranges: [Range<Int>] = []
        var offset = 0
        for entry in layout {
            let count = entry.shape.reduce(1, *)
            if decay(entry.name, entry.shape) {
                if let last = ranges.last, last.upperBound == offset {
                    ranges[ranges.count - 1] = last.lowerBound..<offset + count
                } else {
                    ranges.append(offset..<offset + count)
                }
            }
            offset += count
        }
        decayRanges = ranges
    }

    /// One update of `parameters` from `gradients` (both with the moments' table) at `learningRate`.
    public func update(parameters: TensorArena, gradients: TensorArena, learningRate lr: Float) {
        precondition(parameters.count == m.count && gradients.count == m.count, "arenas of another table")
        step += 1
        let c = config
        let t = Double(step)
        let bias1 = Float(1 - pow(Double(c.beta1), t)), bias2Root = Float((1 - pow(Double(c.beta2), t)).squareRoot())
        let stepSize = lr / bias1
        if c.weightDecay != 0 {
            let keep = 1 - lr * c.weightDecay
            for range in decayRanges { scale(parameters.data + range.lowerBound, range.count, by: keep) }
        }
        let p = parameters.data, g = gradients.data, m1 = m.data, m2 = v.data
        let b1 = Float8(repeating: c.beta1), b2 = Float8(repeating: c.beta2)
        let a1 = Float8(repeating: 1 - c.beta1), a2 = Float8(repeating: 1 - c.beta2)
        let step8 = Float8(repeating: stepSize), root8 = Float8(repeating: bias2Root), eps8 = Float8(repeating: c.epsilon)
        let total = m.count
        Parallel.forEachChunk(count: (total + 4095) / 4096, costPerItem: 4096 * 12) { range in
            let end = min(total, range.upperBound * 4096)
            var i = range.lowerBound * 4096
            while i &+ 8 <= end {
                let grad = UnsafeRawPointer(g + i).loadUnaligned(as: Float8.self)
                let mi = b1 * UnsafeRawPointer(m1 + i).loadUnaligned(as: Float8.self) + a1 * grad
                let vi = b2 * UnsafeRawPointer(m2 + i).loadUnaligned(as: Float8.self) + a2 * grad * grad
                UnsafeMutableRawPointer(m1 + i).storeBytes(of: mi, as: Float8.self)
                UnsafeMutableRawPointer(m2 + i).storeBytes(of: vi, as: Float8.self)
                let pi = UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
                UnsafeMutableRawPointer(p + i).storeBytes(of: pi - step8 * mi / (vi.squareRoot() / root8 + eps8), as: Float8.self)
                i &+= 8
            }
            while i < end {
                let grad = g[i]
                let mi = c.beta1 * m1[i] + (1 - c.beta1) * grad
                let vi = c.beta2 * m2[i] + (1 - c.beta2) * grad * grad
                m1[i] = mi
                m2[i] = vi
                p[i] -= stepSize * mi / (vi.squareRoot() / bias2Root + c.epsilon)
                i &+= 1
            }
        }
    }
}

/// √(Σ g²) over one or more gradient arenas, accumulated in Double.
public func globalGradientNorm(_ arenas: [TensorArena]) -> Double {
    var total = 0.0
    for arena in arenas {
        var i = 0
        var s8 = SIMD8<Float>()
        var partial = 0.0
        while i + 8 <= arena.count {
            let v = UnsafeRawPointer(arena.data + i).loadUnaligned(as: SIMD8<Float>.self)
            s8 += v * v
            i += 8
            if i % 65536 == 0 { partial += Double(s8.sum()); s8 = .init() }
        }
        partial += Double(s8.sum())
        while i < arena.count { partial += Double(arena.data[i] * arena.data[i]); i += 1 }
        total += partial
    }
    return total.squareRoot()
}

/// Scales the gradients so their global norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`
/// (factor maxNorm / (norm + 1e-6), applied only when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ arenas: [TensorArena], maxNorm: Double) -> Double {
    let norm = globalGradientNorm(arenas)
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for arena in arenas { scale(arena.data, arena.count, by: Float(factor)) }
    }
    return norm
}
