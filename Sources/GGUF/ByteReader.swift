/// Reads little-endian fields from a byte range, checking every length against the bytes left before it reads,
/// so a hostile count or length ends in a `GGUFError` naming the field and never in a trap or a huge allocation.
struct ByteReader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    private(set) var position = 0

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    var remaining: Int { size - position }

    /// Moves past `count` bytes of `field`, returning where they start.
    mutating func skip(_ count: Int, _ field: @autoclosure () -> String) throws -> Int {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(path: path, field: field(), offset: position, needed: count, fileSize: size)
        }
        let start = position
        position += count
        return start
    }

    mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws -> T {
        let start = try skip(MemoryLayout<T>.size, field())
        return T(littleEndian: base.loadUnaligned(fromByteOffset: start, as: T.self))
    }

    mutating func u32(_ field: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, field()) }
    mutating func u64(_ field: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, field()) }

    /// A u64 count or size that must fit an `Int` and be at most `limit`.
    mutating func count(_ field: @autoclosure () -> String, limit: Int) throws -> Int {
        let name = field()
        let value = try u64(name)
        guard value <= UInt64(limit) else {
            throw GGUFError.badValue(path: path, field: name, reason: "\(value) is more than the \(limit) allowed here")
        }
        return Int(value)
    }

    /// A GGUF string: a u64 byte length, then that many bytes of UTF-8 (no terminator).
    mutating func string(_ field: @autoclosure () -> String, maxLength: Int = .max) throws -> String {
        let name = field()
        let lengthOffset = position
        let length = try u64(name + " (string length)")
        guard length <= UInt64(remaining) else {
            throw GGUFError.truncated(
                path: path, field: name, offset: lengthOffset + 8, needed: Int(clamping: length), fileSize: size)
        }
        guard length <= UInt64(maxLength) else {
            throw GGUFError.badValue(
                path: path, field: name, reason: "a string of \(length) bytes, more than \(maxLength)")
        }
        let start = try skip(Int(length), name)
        let bytes = UnsafeRawBufferPointer(start: base + start, count: Int(length))
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw GGUFError.badValue(
                path: path, field: name, reason: "a string that is not valid UTF-8 at byte \(start)")
        }
        return text
    }

    /// `count` fixed-width values of `field` in one bounds check.
    mutating func array<T: FixedWidthInteger>(
        _ type: T.Type, count: Int, _ field: @autoclosure () -> String
    ) throws -> [T] {
        let name = field()
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !overflow else {
            throw GGUFError.truncated(path: path, field: name, offset: position, needed: .max, fileSize: size)
        }
        let start = try skip(bytes, name)
        let raw = base + start
        let width = MemoryLayout<T>.size
        return (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * width, as: T.self)) }
    }
}
