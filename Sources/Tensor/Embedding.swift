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
