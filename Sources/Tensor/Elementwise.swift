/// a[i] += b[i]: the residual connection.
public func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count N: Int) {
    Parallel.forEachChunk(count: (N + 4095) / 4096, costPerItem: 4096) { range in
        var i = range.lowerBound &* 4096
        let end = min(N, range.upperBound &* 4096)
        while i &+ 8 <= end {
            let v = UnsafeRawPointer(a + i).loadUnaligned(as: Float8.self) + UnsafeRawPointer(b + i).loadUnaligned(as: Float8.self)
            UnsafeMutableRawPointer(a + i).storeBytes(of: v, as: Float8.self)
            i &+= 8
        }
        while i < end { a[i] += b[i]; i &+= 1 }
    }
}

// The backward of `addInPlace` needs no kernel: a residual passes its gradient unchanged to both branches.

/// x ← cap · tanh(x / cap) in place: Gemma's final logit softcapping, which bounds every logit to (−cap, cap).
public func softcapForward(_ x: UnsafeMutablePointer<Float>, count N: Int, cap: Float) {
    Parallel.forEachChunk(count: (N + 4095) / 4096, costPerItem: 4096 &* 20) { range in
        let c8 = Float8(repeating: cap), inverse8 = Float8(repeating: 1 / cap)
        var i = range.lowerBound &* 4096
        let end = min(N, range.upperBound &* 4096)
        while i &+ 8 <= end {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: c8 * fastTanh(v * inverse8), as: Float8.self)
            i &+= 8
        }
        while i < end { x[i] = cap * fastTanh(x[i] / cap); i &+= 1 }
    }
}

/// The backward of `softcapForward`, in place on the gradient: with y = cap·tanh(x/cap), dy/dx = 1 − (y/cap)²,
/// so dx = dy · (1 − (y/cap)²) from the capped values y.
public func softcapBackward(_ d: UnsafeMutablePointer<Float>, capped y: UnsafePointer<Float>, count N: Int, cap: Float) {
    Parallel.forEachChunk(count: (N + 4095) / 4096, costPerItem: 4096 &* 4) { range in
        let one = Float8(repeating: 1), inverse8 = Float8(repeating: 1 / cap)
        var i = range.lowerBound &* 4096
        let end = min(N, range.upperBound &* 4096)
        while i &+ 8 <= end {
            let t = UnsafeRawPointer(y + i).loadUnaligned(as: Float8.self) * inverse8
            let g = UnsafeRawPointer(d + i).loadUnaligned(as: Float8.self)
            UnsafeMutableRawPointer(d + i).storeBytes(of: g * (one - t * t), as: Float8.self)
            i &+= 8
        }
        while i < end { let t = y[i] / cap; d[i] *= 1 - t * t; i &+= 1 }
    }
}
