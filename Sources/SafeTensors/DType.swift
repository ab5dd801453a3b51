import CKernels
/// The element types a safetensors header may name.
public enum DType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Whether `SafeTensorsFile` converts it to fp32.
    public var convertsToFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

/// IEEE binary16 bits to fp32, including subnormals, infinities and NaN.
@inline(__always)
public func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    var mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        var e: UInt32 = 127 - 15 + 1
        while mantissa & 0x400 == 0 { mantissa <<= 1; e -= 1 }
        return Float(bitPattern: sign | (e << 23) | ((mantissa & 0x3FF) << 13))
    }
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
}

/// bfloat16 bits to fp32 (the upper half of an fp32).
@inline(__always)
public func floatFromBFloat16(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

/// fp32 to bfloat16 bits, rounding to nearest even as PyTorch does.
@inline(__always)
public func bfloat16FromFloat(_ f: Float) -> UInt16 {
    var value = f, half: UInt16 = 0
    t2g_f32_to_bf16(&half, &value, 1)
    return half
}
