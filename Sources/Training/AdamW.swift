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
// Unchecked Sendable: raw moments, updated only by the training loop's thread.
public final class AdamW: @unchecked Sendable {
    public let config: AdamWConfig
    /// First and second moments, laid out like the parameters.
    public let m: TensorArena
    public let v: TensorArena
    /// Steps taken so far (t of the last step).
    public var step: Int = 0
    /// Whether each table entry gets weight decay.
    private let decays: [Bool]

    /// `decay(name, shape)` says which parameters get weight decay (default: all, as the torch fixture).
    public init(config: AdamWConfig, layout: [(name: String, shape: [Int])],
                decay: (String, [Int]) -> Bool = { _, _ in true }) {
        self.config = config
        m = TensorArena(layout: layout)
        v = TensorArena(layout: layout)
        decays = layout.map { decay($0.name, $0.shape) }
    }

    /// One update of `parameters` from `gradients · gradientScale` (both with the moments' table) at `learningRate`.
    /// `gradientScale` carries a clipping factor (`clipFactor`), so clipping costs no extra pass over the gradients.
    public func update(parameters: TensorArena, gradients: TensorArena, learningRate lr: Float, gradientScale: Float = 1) {
        precondition(parameters.count == m.count && gradients.count == m.count, "arenas of another table")
        step += 1
        let c = config
        let t = Double(step)
        let bias1 = Float(1 - pow(Double(c.beta1), t)), bias2Root = Float((1 - pow(Double(c.beta2), t)).squareRoot())
        let stepSize = lr / bias1
        let b1 = Float8(repeating: c.beta1), b2 = Float8(repeating: c.beta2)
        let a1 = Float8(repeating: 1 - c.beta1), a2 = Float8(repeating: 1 - c.beta2)
        let step8 = Float8(repeating: stepSize), root8 = Float8(repeating: bias2Root), eps8 = Float8(repeating: c.epsilon)
        let scale8 = Float8(repeating: gradientScale)
        var offset = 0
        for (entry, decays) in zip(m.layout, decays) {
            let count = entry.shape.reduce(1, *)
            let p = parameters.data + offset, g = gradients.data + offset, m1 = m.data + offset, m2 = v.data + offset
            offset += count
            // torch: p ← p·(1 − lr·wd) before the Adam step
            let keep = decays ? 1 - lr * c.weightDecay : 1
            let keep8 = Float8(repeating: keep)
            Parallel.forEachChunk(count: (count + 4095) / 4096, costPerItem: 4096 * 16) { range in
                let end = min(count, range.upperBound * 4096)
                var i = range.lowerBound * 4096
                while i &+ 8 <= end {
                    let grad = UnsafeRawPointer(g + i).loadUnaligned(as: Float8.self) * scale8
                    let mi = b1 * UnsafeRawPointer(m1 + i).loadUnaligned(as: Float8.self) + a1 * grad
                    let vi = b2 * UnsafeRawPointer(m2 + i).loadUnaligned(as: Float8.self) + a2 * grad * grad
                    UnsafeMutableRawPointer(m1 + i).storeBytes(of: mi, as: Float8.self)
                    UnsafeMutableRawPointer(m2 + i).storeBytes(of: vi, as: Float8.self)
                    let pi = UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self) * keep8
                    UnsafeMutableRawPointer(p + i).storeBytes(of: pi - step8 * mi / (vi.squareRoot() / root8 + eps8), as: Float8.self)
                    i &+= 8
                }
                while i < end {
                    let grad = g[i] * gradientScale
                    let mi = c.beta1 * m1[i] + (1 - c.beta1) * grad
                    let vi = c.beta2 * m2[i] + (1 - c.beta2) * grad * grad
                    m1[i] = mi
                    m2[i] = vi
                    p[i] = p[i] * keep - stepSize * mi / (vi.squareRoot() / bias2Root + c.epsilon)
                    i &+= 1
                }
            }
        }
    }
}

/// √(Σ g²) over one or more gradient arenas: fixed blocks of 64k floats summed in Double in block order,
/// so the result does not depend on the thread count.
public func globalGradientNorm(_ arenas: [TensorArena]) -> Double {
    var total = 0.0
    for arena in arenas {
        let blocks = (arena.count + 65535) / 65536
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { sums in
            let sums = sums.baseAddress!
            Parallel.forEachChunk(count: blocks, costPerItem: 65536 * 2) { range in
                for block in range {
                    let start = block * 65536, end = min(arena.count, start + 65536)
                    var i = start
                    var s8 = Float8()
                    while i &+ 8 <= end {
                        let v = UnsafeRawPointer(arena.data + i).loadUnaligned(as: Float8.self)
                        s8 += v * v
                        i &+= 8
                    }
                    var s = Double(s8.sum())
                    while i < end { s += Double(arena.data[i] * arena.data[i]); i &+= 1 }
                    sums[block] = s
                }
            }
        }
        total += partial.reduce(0, +)
    }
    return total.squareRoot()
}

/// torch's clipping factor for a global norm: min(1, maxNorm / (norm + 1e-6)).
public func clipFactor(norm: Double, maxNorm: Double) -> Float {
    Float(min(1, maxNorm / (norm + 1e-6)))
}
