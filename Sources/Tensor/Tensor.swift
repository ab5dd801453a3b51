#if os(Linux)
import Glibc
#endif

/// A dense fp32 tensor: a shape over a contiguous row-major buffer that it owns or views.
///
/// Views into an arena keep the arena alive, so parameters, gradients and activations can each live
/// in one allocation carved into named tensors.
// Unchecked Sendable: raw memory; one pass writes it at a time, its kernels in disjoint slices.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    private let owner: AnyObject?

    /// A new zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        self.data.initialize(repeating: 0, count: max(count, 1))
        self.owner = nil
    }

    /// A tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A view of `count(shape)` floats at `data`, kept alive by `owner`.
    public init(viewing data: UnsafeMutablePointer<Float>, shape: [Int], owner: AnyObject) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = data
        self.owner = owner
    }

    deinit {
        if owner == nil { data.deallocate() }
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// The values as an array (a copy).
    public var array: [Float] { Array(buffer) }

    public func zero() { data.update(repeating: 0, count: count) }

    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }
}

/// One allocation carved into named tensors from a table of (name, shape), in table order.
///
/// Gradients built from the same table share the parameters' layout, so an optimizer is one loop.
// Unchecked Sendable: raw memory; one pass writes it at a time, its kernels in disjoint slices.
public final class TensorArena: @unchecked Sendable {
    public let layout: [(name: String, shape: [Int])]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    private var offsets: [String: Int] = [:]

    public init(layout: [(name: String, shape: [Int])]) {
        self.layout = layout
        var total = 0
        var offsets: [String: Int] = [:]
        for entry in layout {
            precondition(offsets[entry.name] == nil, "duplicate arena entry \(entry.name)")
            offsets[entry.name] = total
            total += entry.shape.reduce(1, *)
        }
        self.offsets = offsets
        self.count = total
        self.data = allocateFloats(max(total, 1))
        self.data.initialize(repeating: 0, count: max(total, 1))
    }

    deinit { data.deallocate() }

    public func contains(_ name: String) -> Bool { offsets[name] != nil }

    /// The named view; asking for a name not in the table is a programmer error.
    public func tensor(_ name: String) -> Tensor {
        guard let offset = offsets[name], let entry = layout.first(where: { $0.name == name }) else {
            preconditionFailure("no tensor named \(name) in the arena")
        }
        return Tensor(viewing: data + offset, shape: entry.shape, owner: self)
    }

    /// All views in table order.
    public func tensors() -> [(name: String, tensor: Tensor)] {
        layout.map { ($0.name, Tensor(viewing: data + offsets[$0.name]!, shape: $0.shape, owner: self)) }
    }

    public func zero() { data.update(repeating: 0, count: count) }
}

/// Floats for a buffer that may be large: blocks of 2 MiB and more are aligned to 2 MiB and, on Linux, asked to
/// be backed by transparent huge pages (where the kernel's setting is `madvise`), so streaming all weights once
/// per decode step does not also walk a TLB miss every 4 KiB. Free with `deallocate()`.
public func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let bytes = count * MemoryLayout<Float>.stride
    let hugePage = 2 << 20
    guard bytes >= hugePage else { return UnsafeMutablePointer<Float>.allocate(capacity: count) }
    let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: hugePage)
    #if os(Linux)
    _ = madvise(raw, bytes & ~(hugePage - 1), 14)  // MADV_HUGEPAGE; advice only, failure is harmless
    #endif
    return raw.bindMemory(to: Float.self, capacity: count)
}
