// Letters: N tokens, C channels, V vocabulary.

/// out (N, C) = table[ids[n]] for each token; ids must lie in 0..<V (checked by the caller).
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, table: UnsafePointer<Float>,
    tokens N: Int, channels C: Int
) {
    for n in 0..<N {
        (out + n &* C).update(from: table + Int(ids[n]) &* C, count: C)
    }
}

/// The backward of `embeddingForward`, accumulating: dtable[ids[n]] += dout[n]. Serial, since ids repeat.
public func embeddingBackward(
    dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
    tokens N: Int, channels C: Int
) {
    for n in 0..<N {
        let row = dtable + Int(ids[n]) &* C, g = dout + n &* C
        for c in 0..<C { row[c] += g[c] }
    }
}
