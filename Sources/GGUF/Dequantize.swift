import SafeTensors

/// ggml's block formats decoded to fp32, one block at a time, in the order of operations of ggml's reference
/// `dequantize_row_*` (so the values equal gguf-py's `quants.dequantize` bit for bit).
///
/// Layouts (little-endian; `d`, `m`, `dmin` are fp16):
/// - Q4_0  (32 → 18 B): d, 16 bytes of nibbles; x = (q − 8)·d; low nibbles are elements 0–15, high ones 16–31.
/// - Q4_1  (32 → 20 B): d, m, 16 bytes of nibbles; x = q·d + m.
/// - Q5_0  (32 → 22 B): d, u32 fifth bits, nibbles; x = (q − 16)·d, element j's fifth bit is bit j of the u32.
/// - Q5_1  (32 → 24 B): d, m, u32 fifth bits, nibbles; x = q·d + m.
/// - Q8_0  (32 → 34 B): d, 32 int8; x = q·d.
/// - Q4_K (256 → 144 B): d, dmin, 12 bytes of 6-bit (scale, min) pairs for 8 sub-blocks of 32, 128 bytes of
///   nibbles; each 64 elements use 32 bytes, low nibbles first; x = d·scale·q − dmin·min.
/// - Q5_K (256 → 176 B): as Q4_K plus 32 bytes of fifth bits before the nibbles (two bits per 64 elements).
/// - Q6_K (256 → 210 B): 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales, d;
///   x = d·scale·(q − 32).
enum Dequantize {
    static func supports(_ type: GGMLType) -> Bool { GGMLType.dequantizable.contains(type) }

    /// Decodes `count` elements of `type` at `source` into `y`; false for a type this package cannot decode.
    /// `count` must be a whole number of blocks whose bytes lie in `source` (the reader checked both).
    static func run(
        _ type: GGMLType, source: UnsafeRawPointer, count: Int, into y: UnsafeMutablePointer<Float>
    ) -> Bool {
        let blocks = type.blockSize > 0 ? count / type.blockSize : 0
        let size = type.typeSize
        switch type {
        case .f32:
            UnsafeMutableRawPointer(y).copyMemory(from: source, byteCount: count * 4)
            for i in 0..<count { y[i] = Float(bitPattern: UInt32(littleEndian: y[i].bitPattern)) }
        case .f16:
            for i in 0..<count { y[i] = floatFromHalf(u16(source, 2 * i)) }
        case .bf16:
            for i in 0..<count { y[i] = floatFromBFloat16(u16(source, 2 * i)) }
        case .q4_0: for b in 0..<blocks { q4_0(source + b * size, y + 32 * b) }
        case .q4_1: for b in 0..<blocks { q4_1(source + b * size, y + 32 * b) }
        case .q5_0: for b in 0..<blocks { q5_0(source + b * size, y + 32 * b) }
        case .q5_1: for b in 0..<blocks { q5_1(source + b * size, y + 32 * b) }
        case .q8_0: for b in 0..<blocks { q8_0(source + b * size, y + 32 * b) }
        case .q4_K: for b in 0..<blocks { q4_K(source + b * size, y + 256 * b) }
        case .q5_K: for b in 0..<blocks { q5_K(source + b * size, y + 256 * b) }
        case .q6_K: for b in 0..<blocks { q6_K(source + b * size, y + 256 * b) }
        default: return false
        }
        return true
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float { floatFromHalf(u16(p, offset)) }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    static func q4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for j in 0..<16 {
            let q = byte(p, 2 + j)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    static func q4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        for j in 0..<16 {
            let q = byte(p, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    static func q5_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = UInt32(byte(p, 6 + j))
            let high0 = ((qh >> UInt32(j)) << 4) & 0x10
            let high1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int((q & 0x0F) | high0) - 16) * d
            y[j + 16] = Float(Int((q >> 4) | high1) - 16) * d
        }
    }

    static func q5_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = UInt32(byte(p, 8 + j))
            let high0 = ((qh >> UInt32(j)) << 4) & 0x10
            let high1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float((q & 0x0F) | high0) * d + m
            y[j + 16] = Float((q >> 4) | high1) * d + m
        }
    }

    static func q8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for j in 0..<32 { y[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// The 6-bit scale and min of sub-block `j` (0–7) from the 12 packed bytes at `s`: sub-blocks 0–3 keep theirs
    /// in the low 6 bits of bytes j and j+4; 4–7 take 4 bits from byte j+4 and their top 2 bits from bytes j−4, j.
    @inline(__always) static func scaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        if j < 4 { return (Float(byte(s, j) & 63), Float(byte(s, j + 4) & 63)) }
        let scale = (byte(s, j + 4) & 0x0F) | ((byte(s, j - 4) >> 6) << 4)
        let min = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4)
        return (Float(scale), Float(min))
    }

    static func q4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        let scales = p + 4, qs = p + 16
        for j in 0..<4 {
            let (sc1, m1) = scaleMin(scales, 2 * j), (sc2, m2) = scaleMin(scales, 2 * j + 1)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            for l in 0..<32 {
                let q = byte(qs, 32 * j + l)
                y[64 * j + l] = d1 * Float(q & 0x0F) - min1
                y[64 * j + 32 + l] = d2 * Float(q >> 4) - min2
            }
        }
    }

    static func q5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        let scales = p + 4, qh = p + 16, qs = p + 48
        for j in 0..<4 {
            let (sc1, m1) = scaleMin(scales, 2 * j), (sc2, m2) = scaleMin(scales, 2 * j + 1)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            let bit1 = UInt8(1) << (2 * j), bit2 = UInt8(2) << (2 * j)
            for l in 0..<32 {
                let q = byte(qs, 32 * j + l), h = byte(qh, l)
                y[64 * j + l] = d1 * Float((q & 0x0F) + (h & bit1 != 0 ? 16 : 0)) - min1
                y[64 * j + 32 + l] = d2 * Float((q >> 4) + (h & bit2 != 0 ? 16 : 0)) - min2
            }
        }
    }

    static func q6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 208)
        for n in 0..<2 {
            let ql = p + 64 * n, qh = p + 128 + 32 * n, sc = p + 192 + 8 * n
            let out = y + 128 * n
            for l in 0..<32 {
                let s = l / 16
                let low0 = byte(ql, l), low1 = byte(ql, l + 32), high = byte(qh, l)
                let q1 = Int((low0 & 0x0F) | ((high & 3) << 4)) - 32
                let q2 = Int((low1 & 0x0F) | (((high >> 2) & 3) << 4)) - 32
                let q3 = Int((low0 >> 4) | (((high >> 4) & 3) << 4)) - 32
                let q4 = Int((low1 >> 4) | (((high >> 6) & 3) << 4)) - 32
                func scale(_ k: Int) -> Float { d * Float(sc.load(fromByteOffset: k, as: Int8.self)) }
                out[l] = scale(s) * Float(q1)
                out[l + 32] = scale(s + 2) * Float(q2)
                out[l + 64] = scale(s + 4) * Float(q3)
                out[l + 96] = scale(s + 6) * Float(q4)
            }
        }
    }
}
