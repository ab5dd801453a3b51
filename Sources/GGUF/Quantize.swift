import SafeTensors

/// fp32 to the types `GGUFWriter` stores, rounding as ggml and numpy do.
public enum Quantize {
    /// fp32 to IEEE binary16 bits, rounding to nearest even (numpy's `astype(float16)`, ggml's F16 conversion);
    /// too large becomes infinity, NaN stays NaN.
    public static func half(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 | UInt16(mantissa >> 13) : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // A binary16 subnormal: the 24-bit significand shifted down to units of 2^-24.
            if e < -10 { return sign }
            let significand = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var h = significand >> shift
            let rest = significand & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && h & 1 == 1) { h += 1 }
            return sign | UInt16(h)
        }
        // A carry out of the mantissa moves to the next exponent (and past the largest finite value, to infinity).
        var h = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }
        return sign | UInt16(h)
    }

    /// One Q8_0 block (34 bytes) of 32 values, as ggml's `quantize_row_q8_0_ref`: d = max|x| / 127 stored as fp16,
    /// q = round(x / d) away from zero, computed with the unrounded d.
    public static func q8_0Block(_ x: UnsafePointer<Float>, into out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]) }
        let d = amax / 127
        let inverse: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: half(d).littleEndian, toByteOffset: 0, as: UInt16.self)
        for j in 0..<32 {
            // Finite inputs give |q| ≤ 127; NaN or infinity in a block must not trap the conversion.
            let q = (x[j] * inverse).rounded()
            let clamped = q.isNaN ? 0 : Swift.min(127, Swift.max(-127, q))
            out.storeBytes(of: Int8(clamped), toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// `count` fp32 values encoded as `type` (one of `GGMLType.writable`; Q8_0 needs whole blocks of 32).
    public static func encode(_ values: UnsafeBufferPointer<Float>, as type: GGMLType) -> [UInt8] {
        let count = values.count
        precondition(GGMLType.writable.contains(type), "cannot write \(type)")
        precondition(count % type.blockSize == 0, "\(count) values are not whole \(type) blocks")
        var out = [UInt8](repeating: 0, count: count / type.blockSize * type.typeSize)
        guard let x = values.baseAddress else { return out }
        out.withUnsafeMutableBytes { raw in
            guard let o = raw.baseAddress else { return }
            switch type {
            case .f32:
                for i in 0..<count {
                    o.storeBytes(of: x[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            case .f16:
                for i in 0..<count { o.storeBytes(of: half(x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            case .bf16:
                for i in 0..<count {
                    o.storeBytes(of: bfloat16FromFloat(x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            default:
                for b in 0..<count / 32 { q8_0Block(x + 32 * b, into: o + 34 * b) }
            }
        }
        return out
    }
}
