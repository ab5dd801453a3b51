// Letters: N elements (tokens × intermediate channels).

/// out = silu(gate) · up, silu(x) = x / (1 + e^−x): the gated MLP of the Llama family.
public func swigluForward(
    out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count N: Int
) {
    let chunk = 4096
    Parallel.forEachChunk(count: (N + chunk - 1) / chunk, costPerItem: 30 &* chunk) { range in
        for c in range {
            var i = c &* chunk
            let end = min(N, i &+ chunk)
            let one = Float8(repeating: 1)
            while i &+ 8 <= end {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: Float8.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: Float8.self)
                let s = g / (one + fastExp(-g))
                UnsafeMutableRawPointer(out + i).storeBytes(of: s * u, as: Float8.self)
                i &+= 8
            }
            while i < end {
                out[i] = gate[i] / (1 + fastExp(-gate[i])) * up[i]
                i &+= 1
            }
        }
    }
}

/// The reference for `swigluForward`, in Double with the libm exponential.
public func swigluForwardNaive(
    out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count N: Int
) {
    for i in 0..<N {
        let g = Double(gate[i])
        out[i] = Float(g / (1 + exp(-g)) * Double(up[i]))
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
