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
