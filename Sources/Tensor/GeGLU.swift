// Letters: N rows (tokens), I intermediate channels.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// √(2/π) and the cubic coefficient of the tanh approximation of GeLU (PyTorch's `approximate="tanh"`).
let geluBeta: Float = 0.797_884_560_802_865_4
let geluKappa: Float = 0.044_715

/// out (N, I) = gelu_tanh(gate) · up with gelu_tanh(x) = ½·x·(1 + tanh(β·(x + κ·x³))): Gemma's gated MLP.
/// gateUp (N, 2·I) holds each row's gate then its up projection, as for `swigluForward`.
public func gegluForward(out: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, rows N: Int, channels I: Int) {
    Parallel.forEachChunk(count: N, costPerItem: 40 &* I) { range in
        let half = Float8(repeating: 0.5), one = Float8(repeating: 1)
        let beta = Float8(repeating: geluBeta), kappa = Float8(repeating: geluKappa)
        for n in range {
            let gate = gateUp + n &* 2 &* I, up = gate + I, y = out + n &* I
            var i = 0
            while i &+ 8 <= I {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: Float8.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: Float8.self)
                let t = fastTanh(beta * (g + kappa * g * g * g))
                UnsafeMutableRawPointer(y + i).storeBytes(of: half * g * (one + t) * u, as: Float8.self)
                i &+= 8
            }
            while i < I {
                let g = gate[i], t = fastTanh(geluBeta * (g + geluKappa * g * g * g))
                y[i] = 0.5 * g * (1 + t) * up[i]
                i &+= 1
            }
        }
    }
}

/// The reference for `gegluForward`, in Double with the libm tanh.
public func gegluForwardNaive(out: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, rows N: Int, channels I: Int) {
    let beta = (2 / Double.pi).squareRoot(), kappa = 0.044715
    for n in 0..<N {
        for i in 0..<I {
            let g = Double(gateUp[n * 2 * I + i]), u = Double(gateUp[n * 2 * I + I + i])
            out[n * I + i] = Float(0.5 * g * (1 + tanh(beta * (g + kappa * g * g * g))) * u)
        }
    }
}

/// The backward of `gegluForward`, accumulating into dgateUp (N, 2·I): with t = tanh(β·(g + κ·g³)),
/// dgate += dout·up·(½·(1 + t) + ½·g·(1 − t²)·β·(1 + 3κ·g²)), dup += dout·gelu_tanh(g).
public func gegluBackward(
    dgateUp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, gateUp: UnsafePointer<Float>,
    rows N: Int, channels I: Int
) {
    Parallel.forEachChunk(count: N, costPerItem: 50 &* I) { range in
        let half = Float8(repeating: 0.5), one = Float8(repeating: 1), three = Float8(repeating: 3)
        let beta = Float8(repeating: geluBeta), kappa = Float8(repeating: geluKappa)
        for n in range {
            let gate = gateUp + n &* 2 &* I, up = gate + I, dy = dout + n &* I
            let dgate = dgateUp + n &* 2 &* I, dup = dgate + I
            var i = 0
            while i &+ 8 <= I {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: Float8.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: Float8.self)
                let d = UnsafeRawPointer(dy + i).loadUnaligned(as: Float8.self)
                let g2 = g * g
                let t = fastTanh(beta * (g + kappa * g2 * g))
                let slope = half * (one + t) + half * g * (one - t * t) * beta * (one + three * kappa * g2)
                let dg = UnsafeRawPointer(dgate + i).loadUnaligned(as: Float8.self) + d * u * slope
                let du = UnsafeRawPointer(dup + i).loadUnaligned(as: Float8.self) + d * half * g * (one + t)
                UnsafeMutableRawPointer(dgate + i).storeBytes(of: dg, as: Float8.self)
                UnsafeMutableRawPointer(dup + i).storeBytes(of: du, as: Float8.self)
                i &+= 8
            }
            while i < I {
                let g = gate[i], g2 = g * g
                let t = fastTanh(geluBeta * (g + geluKappa * g2 * g))
                let slope = 0.5 * (1 + t) + 0.5 * g * (1 - t * t) * geluBeta * (1 + 3 * geluKappa * g2)
                dgate[i] += dy[i] * up[i] * slope
                dup[i] += dy[i] * 0.5 * g * (1 + t)
                i &+= 1
            }
        }
    }
}
