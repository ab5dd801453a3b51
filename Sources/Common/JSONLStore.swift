import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An append-only JSONL file where each record is one `write(2)` of a complete line.
///
/// Why this survives SIGKILL: with `O_APPEND` each `write` lands atomically at the end of the file
/// and goes straight to the kernel (no user-space buffer to lose), so a killed process leaves only
/// whole lines, except if the kernel itself split a write (disk full, a huge line); `JSONLScan`
/// detects and removes such a torn tail on resume. Writes are serialized by the actor.
public actor JSONLAppender {
    /// The file's path.
    public let path: String
    private var descriptor: Int32
    /// Removed from every line, in each form it can be echoed in (see `redact`).
    private let secret: String?

    /// Opens (creating if needed) `path` for appending and locks it against other runs; `secret` (the API key)
    /// never reaches the file.
    public init(path: String, redacting secret: String? = nil) throws {
        self.path = path
        self.secret = secret
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError.io(
                path: path, detail: "cannot open for appending (\(String(cString: strerror(errno))))")
        }
        // Two runs appending to one file would write some ids twice. The lock is advisory and the
        // kernel drops it when the process dies, so a killed run never leaves the file locked.
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno == EWOULDBLOCK ? "another run is writing this file" : String(cString: strerror(errno))
            _ = systemClose(descriptor)
            throw FileError.io(path: path, detail: "cannot lock (\(reason))")
        }
    }

    /// Appends `value` as one line.
    public func append<Value: Encodable>(_ value: Value) throws {
        var line: Data
        do {
            line = try lineEncoder().encode(value)
        } catch {
            throw FileError.io(path: path, detail: "cannot encode a record (\(error))")
        }
        if let secret, !secret.isEmpty {
            line = Data(redact(String(decoding: line, as: UTF8.self), secret: secret).utf8)
        }
        line.append(UInt8(ascii: "\n"))
        try write(line)
    }

    /// One `write` call for the whole line; the loop only continues after a signal or a short write
    /// (disk nearly full), the one case where a kill could leave a torn tail for the next resume.
    private func write(_ line: Data) throws {
        guard descriptor >= 0 else { throw FileError.io(path: path, detail: "write after close") }
        try line.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileError.io(path: path, detail: "write failed (\(String(cString: strerror(errno))))")
                }
                offset += written
            }
        }
    }

    deinit {
        if descriptor >= 0 { _ = systemClose(descriptor) }
    }

    /// Closes the file; later appends fail.
    public func close() {
        if descriptor >= 0 { _ = systemClose(descriptor) }
        descriptor = -1
    }
}

#if canImport(Glibc)
    private let systemWrite = Glibc.write
    private let systemClose = Glibc.close
#else
    private let systemWrite = Darwin.write
    private let systemClose = Darwin.close
#endif

/// What an existing JSONL file holds, after any torn tail was cut off.
public struct JSONLScan: Sendable {
    /// Each complete line's object, in file order, with its 1-based line number.
    public var objects: [(line: Int, object: [String: Any])] {
        entries.map { ($0.line, $0.object.value) }
    }
    /// Bytes removed from the end because the last line had no newline (a torn write).
    public var truncatedBytes: Int

    var entries: [(line: Int, object: UncheckedDictionary)]

    /// Reads `path` (absent means empty); truncates a torn last line unless `repair` is false (the
    /// count is reported either way); throws on a corrupt complete line.
    public static func read(path: String, repair: Bool = true) throws -> JSONLScan {
        guard FileManager.default.fileExists(atPath: path) else { return JSONLScan(truncatedBytes: 0, entries: []) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FileError.io(path: path, detail: "cannot read (\(error.localizedDescription))")
        }
        var end = data.count
        if let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) {
            end = lastNewline + 1
        } else {
            end = 0
        }
        let torn = data.count - end
        if torn > 0 && repair {
            guard truncate(path, off_t(end)) == 0 else {
                throw FileError.io(
                    path: path, detail: "cannot cut off the torn last line (\(String(cString: strerror(errno))))")
            }
        }
        var entries: [(Int, UncheckedDictionary)] = []
        var start = 0
        var number = 0
        while start < end {
            number += 1
            let newline = data[start..<end].firstIndex(of: UInt8(ascii: "\n")) ?? end
            let line = data[start..<newline]
            start = newline + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                throw FileError.corruptLine(path: path, line: number, detail: "not a JSON object")
            }
            guard object["id"] is String else {
                throw FileError.corruptLine(path: path, line: number, detail: "no string 'id'")
            }
            entries.append((number, UncheckedDictionary(value: object)))
        }
        return JSONLScan(truncatedBytes: torn, entries: entries)
    }

    /// The `id` of every line, in file order.
    public var ids: [String] { entries.compactMap { $0.object.value["id"] as? String } }
}

/// A JSON object from `JSONSerialization`; immutable after parsing, so sharing it is safe.
struct UncheckedDictionary: @unchecked Sendable {
    var value: [String: Any]
}

/// The encoder of one JSONL record: sorted keys, slashes unescaped.
public func lineEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}
