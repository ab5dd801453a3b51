/// A ggml tensor type as GGUF stores it: its id, and the block of `blockSize` elements packed in `typeSize` bytes.
public struct GGMLType: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt32

    public init(id: UInt32) { self.id = id }

    public static let f32 = GGMLType(id: 0), f16 = GGMLType(id: 1)
    public static let q4_0 = GGMLType(id: 2), q4_1 = GGMLType(id: 3)
    public static let q5_0 = GGMLType(id: 6), q5_1 = GGMLType(id: 7)
    public static let q8_0 = GGMLType(id: 8), q8_1 = GGMLType(id: 9)
    public static let q2_K = GGMLType(id: 10), q3_K = GGMLType(id: 11), q4_K = GGMLType(id: 12)
    public static let q5_K = GGMLType(id: 13), q6_K = GGMLType(id: 14), q8_K = GGMLType(id: 15)
    public static let bf16 = GGMLType(id: 30)

    /// (name, elements per block, bytes per block) by id, as ggml's type traits give them. Ids 4 and 5 (Q4_2,
    /// Q4_3) and 31–33, 36–38 (repacked layouts) were removed from ggml and are not valid in a file.
    static let table: [UInt32: (name: String, blockSize: Int, typeSize: Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
        18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4),
        27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2),
        34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36),
    ]

    /// Whether ggml knows the id (known types can be sized even when they cannot be dequantized).
    public var isKnown: Bool { Self.table[id] != nil }
    public var name: String { Self.table[id]?.name ?? "unknown type \(id)" }
    public var description: String { name }
    /// Elements per block (1 for plain types); 0 for an unknown id.
    public var blockSize: Int { Self.table[id]?.blockSize ?? 0 }
    /// Bytes per block; 0 for an unknown id.
    public var typeSize: Int { Self.table[id]?.typeSize ?? 0 }

    /// The type of a name such as `Q8_0` or `q8_0`.
    public init?(name: String) {
        guard let entry = Self.table.first(where: { $0.value.name == name.uppercased() }) else { return nil }
        id = entry.key
    }

    /// The types this package converts to fp32.
    public static let dequantizable: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K,
    ]
    /// The types `GGUFWriter` writes.
    public static let writable: [GGMLType] = [.f32, .f16, .bf16, .q8_0]

    /// Bytes of `elements` values, or nil when `elements` is not a whole number of blocks or the size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard blockSize > 0, elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : bytes
    }
}
