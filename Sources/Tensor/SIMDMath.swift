// Vector math the kernels share. Everything here is written so that Swift 6.3 inlines it at -O
// without -target-cpu: comparisons with `replacing`, no pointwiseMax/min or .clamped.

public typealias Float8 = SIMD8<Float>

/// e^x for eight lanes: Cephes' expf (range reduction by ln 2, degree-6 polynomial, exponent bits).
/// Relative error ≈ 1.2e-7 over [-87, 88]; inputs are clamped to that range.
@inline(__always)
public func fastExp(_ input: Float8) -> Float8 {
    var x = input
    x.replace(with: Float8(repeating: 88.0), where: x .> Float8(repeating: 88.0))
    x.replace(with: Float8(repeating: -87.0), where: x .< Float8(repeating: -87.0))
    // n = round(x / ln 2) by the 1.5·2²³ trick: the sum's low mantissa bits hold n.
    let magic = Float8(repeating: 12_582_912)
    let t = x * Float8(repeating: 1.442_695_040_888_963_4) + magic
    let n = t - magic
    let r = x - n * Float8(repeating: 0.693_359_375) - n * Float8(repeating: -2.121_944_4e-4)
    var p = Float8(repeating: 1.987_569_150_0e-4)
    p = p * r + Float8(repeating: 1.398_199_950_7e-3)
    p = p * r + Float8(repeating: 8.333_451_907_3e-3)
    p = p * r + Float8(repeating: 4.166_579_589_4e-2)
    p = p * r + Float8(repeating: 1.666_666_545_9e-1)
    p = p * r + Float8(repeating: 5.000_000_120_1e-1)
    let expR = p * r * r + r + Float8(repeating: 1)
    let nBits = unsafeBitCast(t, to: SIMD8<Int32>.self) &- SIMD8<Int32>(repeating: 0x4B40_0000)
    let scale = unsafeBitCast((nBits &+ SIMD8<Int32>(repeating: 127)) &<< SIMD8<Int32>(repeating: 23), to: Float8.self)
    return expR * scale
}

/// e^x for one value, by the same polynomial (so scalar tails agree with vector bodies).
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    fastExp(Float8(repeating: x))[0]
}

/// The largest lane.
@inline(__always)
public func horizontalMax(_ v: Float8) -> Float {
    var m = v[0]
    for i in 1..<8 where v[i] > m { m = v[i] }
    return m
}

/// The largest of `count` floats (−∞ when empty).
@inline(__always)
public func maxOf(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var i = 0
    var m8 = Float8(repeating: -.infinity)
    while i &+ 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self)
        m8.replace(with: v, where: v .> m8)
        i &+= 8
    }
    var m = horizontalMax(m8)
    while i < count {
        if x[i] > m { m = x[i] }
        i &+= 1
    }
    return m
}

/// out[i] = e^(x[i] − shift); returns Σ out[i]. `out` may alias `x`.
@inline(__always)
public func expShiftedSum(
    _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int, shift: Float
) -> Float {
    var i = 0
    var s8 = Float8()
    let m8 = Float8(repeating: shift)
    while i &+ 8 <= count {
        let e = fastExp(UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self) - m8)
        UnsafeMutableRawPointer(out + i).storeBytes(of: e, as: Float8.self)
        s8 += e
        i &+= 8
    }
    var s = s8.sum()
    while i < count {
        let e = fastExp(x[i] - shift)
        out[i] = e
        s += e
        i &+= 1
    }
    return s
}

/// x[i] *= factor.
@inline(__always)
public func scale(_ x: UnsafeMutablePointer<Float>, _ count: Int, by factor: Float) {
    var i = 0
    let f8 = Float8(repeating: factor)
    while i &+ 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float8.self) * f8
        UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: Float8.self)
        i &+= 8
    }
    while i < count {
        x[i] *= factor
        i &+= 1
    }
}

/// tanh for eight lanes: 1 − 2/(e^(2x) + 1) with `fastExp`, so ±1 beyond |x| ≈ 44 (where e^(2x) clamps).
/// Absolute error ≈ 2e-7.
@inline(__always)
public func fastTanh(_ x: Float8) -> Float8 {
    let one = Float8(repeating: 1)
    return one - Float8(repeating: 2) / (fastExp(x + x) + one)
}

/// tanh for one value, by the same formula (so scalar tails agree with vector bodies).
@inline(__always)
public func fastTanh(_ x: Float) -> Float {
    fastTanh(Float8(repeating: x))[0]
}
