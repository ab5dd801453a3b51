// Letters: N tokens, H heads, HS head size, P = HS/2 rotated pairs.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// How the rotary frequencies are stretched for long contexts (Hugging Face `rope_scaling`).
public enum RotaryScaling: Equatable, Sendable {
    case none
    /// Positions divided by `factor`.
    case linear(factor: Double)
    /// NTK-aware: the base grows once the sequence exceeds `maxPositions`.
    case dynamic(factor: Double, maxPositions: Int)
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp between.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
}

/// Rotary position embedding in the Llama convention: pairs (i, i + HS/2) rotate by position · invFreq[i].
public struct RotaryEmbedding: Equatable, Sendable {
    public let headSize: Int
    public let theta: Double
    public let scaling: RotaryScaling

    public init(headSize: Int, theta: Double, scaling: RotaryScaling = .none) {
        precondition(headSize % 2 == 0, "rotary head size must be even, got \(headSize)")
        self.headSize = headSize
        self.theta = theta
        self.scaling = scaling
    }

    /// The P inverse frequencies for sequences up to `sequenceLength`, computed in fp32 as transformers does.
    public func inverseFrequencies(sequenceLength: Int) -> [Float] {
        let dim = headSize
        var base = Float(theta)
        if case let .dynamic(factor, maxPositions) = scaling, sequenceLength > maxPositions {
            let grown = factor * Double(sequenceLength) / Double(maxPositions) - (factor - 1)
            base = Float(theta * pow(grown, Double(dim) / Double(dim - 2)))
        }
        var inv = (0..<dim / 2).map { i in 1 / powf(base, Float(2 * i) / Float(dim)) }
        switch scaling {
        case .none, .dynamic:
            break
        case let .linear(factor):
            inv = inv.map { $0 / Float(factor) }
        case let .llama3(factor, lowFactor, highFactor, original):
            let f = Float(factor), low = Float(lowFactor), high = Float(highFactor), old = Float(original)
            let lowWavelength = old / low
            let highWavelength = old / high
            inv = inv.map { freq in
                let wavelength = 2 * Float.pi / freq
                if wavelength < highWavelength { return freq }
                if wavelength > lowWavelength { return freq / f }
                let smooth = (old / wavelength - low) / (high - low)
                return (1 - smooth) * freq / f + smooth * freq
            }
        }
        return inv
    }

    /// cos and sin tables (N, P) for the positions of a (B, T) batch, flattened.
    ///
    /// `dynamic` scaling takes each sequence's own length, so a sequence gets the same result alone or in
    /// any batch (transformers takes the longest sequence of the batch for all of them).
    public func table(positions: [Int32], length T: Int) -> (cos: [Float], sin: [Float]) {
        precondition(T > 0 && positions.count % T == 0, "\(positions.count) positions for rows of \(T)")
        let pairs = headSize / 2
        var cosTable = [Float](repeating: 0, count: positions.count * pairs)
        var sinTable = cosTable
        for row in stride(from: 0, to: positions.count, by: T) {
            let rowPositions = positions[row..<row + T]
            let inv = inverseFrequencies(sequenceLength: Int(rowPositions.max() ?? 0) + 1)
            for n in row..<row + T {
                for i in 0..<pairs {
                    let angle = Double(Float(positions[n]) * inv[i])
                    cosTable[n * pairs + i] = Float(cos(angle))
                    sinTable[n * pairs + i] = Float(sin(angle))
                }
            }
        }
        return (cosTable, sinTable)
    }
}

/// Rotates x (N, H, HS) in place: x[i] ← x[i]·cos − x[i+P]·sin, x[i+P] ← x[i+P]·cos + x[i]·sin.
/// Token n's heads start at x + n·rowStride (rowStride ≥ H·HS, e.g. q inside a fused qkv row).
public func rotaryForward(
    x: UnsafeMutablePointer<Float>, rowStride: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
    tokens N: Int, heads H: Int, headSize HS: Int
) {
    rotate(x, rowStride: rowStride, cos: cos, sin: sin, direction: 1, tokens: N, heads: H, headSize: HS)
}

/// Rotates every (i, i + P) pair by `direction` · angle: +1 is the forward, −1 its inverse.
@inline(__always)
func rotate(
    _ x: UnsafeMutablePointer<Float>, rowStride: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
    direction: Float, tokens N: Int, heads H: Int, headSize HS: Int
) {
    let P = HS / 2
    Parallel.forEachChunk(count: N, costPerItem: 6 &* H &* HS) { range in
        let d8 = Float8(repeating: direction)
        for n in range {
            let c = cos + n &* P
            let s = sin + n &* P
            for h in 0..<H {
                let x1 = x + (n &* rowStride &+ h &* HS)
                let x2 = x1 + P
                var i = 0
                while i &+ 8 <= P {
                    let a = UnsafeRawPointer(x1 + i).loadUnaligned(as: Float8.self)
                    let b = UnsafeRawPointer(x2 + i).loadUnaligned(as: Float8.self)
                    let c8 = UnsafeRawPointer(c + i).loadUnaligned(as: Float8.self)
                    let s8 = UnsafeRawPointer(s + i).loadUnaligned(as: Float8.self) * d8
                    UnsafeMutableRawPointer(x1 + i).storeBytes(of: a * c8 - b * s8, as: Float8.self)
                    UnsafeMutableRawPointer(x2 + i).storeBytes(of: b * c8 + a * s8, as: Float8.self)
                    i &+= 8
                }
                while i < P {
                    let a = x1[i], b = x2[i], sn = s[i] * direction
                    x1[i] = a * c[i] - b * sn
                    x2[i] = b * c[i] + a * sn
                    i &+= 1
                }
            }
        }
    }
}

/// The reference for `rotaryForward`: HF's `q·cos + rotate_half(q)·sin` written out per element.
public func rotaryForwardNaive(
    x: UnsafeMutablePointer<Float>, rowStride: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
    tokens N: Int, heads H: Int, headSize HS: Int
) {
    let P = HS / 2
    for n in 0..<N {
        for h in 0..<H {
            let base = n * rowStride + h * HS
            let original = (0..<HS).map { x[base + $0] }
            for d in 0..<HS {
                let pair = d % P
                let rotated = d < P ? -original[d + P] : original[d - P]
                x[base + d] = original[d] * cos[n * P + pair] + rotated * sin[n * P + pair]
            }
        }
    }
}

/// The backward of `rotaryForward`, in place on the gradient: the rotation is orthogonal, so the gradient of
/// the input is the output gradient rotated back (by −angle): dx[i] ← dy[i]·cos + dy[i+P]·sin,
/// dx[i+P] ← dy[i+P]·cos − dy[i]·sin.
public func rotaryBackward(
    dx: UnsafeMutablePointer<Float>, rowStride: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
    tokens N: Int, heads H: Int, headSize HS: Int
) {
    rotate(dx, rowStride: rowStride, cos: cos, sin: sin, direction: -1, tokens: N, heads: H, headSize: HS)
}
