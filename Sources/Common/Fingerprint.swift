/// A 64-bit FNV-1a hash of what a run was given (its resolved configuration, its data), so data-parallel
/// replicas can check that they hold the same before they start.
public struct Fingerprint: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    public mutating func add(_ text: String) {
        add(text.utf8)
        add(CollectionOfOne(0))
    }

    public mutating func add(_ numbers: [Int]) {
        for number in numbers { add(withUnsafeBytes(of: Int64(number).littleEndian, Array.init)) }
        add(CollectionOfOne(0xFF))
    }
}
