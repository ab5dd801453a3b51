// Letters: N rows (tokens), I intermediate channels.

/// out (N, I) = silu(gate) · up with silu(x) = x / (1 + e^−x): the gated MLP of the Llama family.
/// gateUp (N, 2·I) holds each row's gate then its up projection (one fused matrix product).
public func swigluForward(out: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, rows N: Int, channels I: Int) {
    Parallel.forEachChunk(count: N, costPerItem: 30 &* I) { range in
        let one = Float8(repeating: 1)
        for n in range {
            let gate = gateUp + n &* 2 &* I, up = gate + I, y = out + n &* I
            var i = 0
            while i &+ 8 <= I {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: Float8.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: Float8.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: g / (one + fastExp(-g)) * u, as: Float8.self)
                i &+= 8
            }
            while i < I {
                y[i] = gate[i] / (1 + fastExp(-gate[i])) * up[i]
                i &+= 1
            }
        }
    }
}

/// The reference for `swigluForward`, in Double with the libm exponential.
public func swigluForwardNaive(out: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, rows N: Int, channels I: Int) {
    for n in 0..<N {
        for i in 0..<I {
            let g = Double(gateUp[n * 2 * I + i]), u = Double(gateUp[n * 2 * I + I + i])
            out[n * I + i] = Float(g / (1 + exp(-g)) * u)
        }
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The backward of `swigluForward`, accumulating into dgateUp (N, 2·I): with σ the logistic function,
/// dgate += dout·up·σ(g)·(1 + g·(1 − σ(g))), dup += dout·silu(g).
public func swigluBackward(
    dgateUp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, gateUp: UnsafePointer<Float>,
    rows N: Int, channels I: Int
) {
    Parallel.forEachChunk(count: N, costPerItem: 40 &* I) { range in
        let one = Float8(repeating: 1)
        for n in range {
            let gate = gateUp + n &* 2 &* I, up = gate + I, dy = dout + n &* I
            let dgate = dgateUp + n &* 2 &* I, dup = dgate + I
            var i = 0
            while i &+ 8 <= I {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: Float8.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: Float8.self)
                let d = UnsafeRawPointer(dy + i).loadUnaligned(as: Float8.self)
                let sig = one / (one + fastExp(-g))
                let dg = UnsafeRawPointer(dgate + i).loadUnaligned(as: Float8.self) + d * u * sig * (one + g * (one - sig))
                let du = UnsafeRawPointer(dup + i).loadUnaligned(as: Float8.self) + d * g * sig
                UnsafeMutableRawPointer(dgate + i).storeBytes(of: dg, as: Float8.self)
                UnsafeMutableRawPointer(dup + i).storeBytes(of: du, as: Float8.self)
                i &+= 8
            }
            while i < I {
                let g = gate[i], sig = 1 / (1 + fastExp(-g))
                dgate[i] += dy[i] * up[i] * sig * (1 + g * (1 - sig))
                dup[i] += dy[i] * g * sig
                i &+= 1
            }
        }
    }
}
