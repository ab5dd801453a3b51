import Foundation
import JSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An append-only JSONL file where each record is one `write(2)` of a complete line (see `JSONLWriter`, which
/// writes it), locked against other runs and with the API key redacted. Writes are serialized by the actor.
///
/// Why this survives SIGKILL: with `O_APPEND` each `write` lands atomically at the end of the file
/// and goes straight to the kernel (no user-space buffer to lose), so a killed process leaves only
/// whole lines, except if the kernel itself split a write (disk full, a huge line); `JSONLScan`
/// detects and removes such a torn tail on resume.
public actor JSONLAppender {
    /// The file's path.
    public let path: String
    /// Nil once closed.
    private var file: JSONLWriter?
    /// Removed from every line, in each form it can be echoed in (see `redact`).
    private let secret: String?

    /// Opens (creating if needed) `path` for appending and locks it against other runs; `secret` (the API key)
    /// never reaches the file.
    public init(path: String, redacting secret: String? = nil) throws {
        self.path = path
        self.secret = secret
        file = try JSONLWriter(appendingTo: path, exclusive: true)
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
        guard let file else { throw FileError.io(path: path, detail: "write after close") }
        do {
            try file.append(line)
        } catch {
            throw FileError.io(path: path, detail: "write failed (\(error))")
        }
    }

    /// Closes the file; later appends fail.
    public func close() {
        file?.close()
        file = nil
    }
}

/// What an existing JSONL file holds, after any torn tail was cut off.
public struct JSONLScan: Sendable {
    /// Each complete line's object, in file order, with its 1-based line number.
    public var objects: [(line: Int, object: JSONValue)]
    /// Bytes removed from the end because the last line had no newline (a torn write).
    public var truncatedBytes: Int

    /// Reads `path` (absent means empty); truncates a torn last line unless `repair` is false (the
    /// count is reported either way); throws on a corrupt complete line.
    public static func read(path: String, repair: Bool = true) throws -> JSONLScan {
        guard FileManager.default.fileExists(atPath: path) else { return JSONLScan(objects: [], truncatedBytes: 0) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FileError.io(path: path, detail: "cannot read (\(error.localizedDescription))")
        }
        let end = JSONLines.completeLength(data)
        let torn = data.count - end
        if torn > 0 && repair {
            guard truncate(path, off_t(end)) == 0 else {
                throw FileError.io(
                    path: path, detail: "cannot cut off the torn last line (\(systemReason(errno)))")
            }
        }
        var objects: [(line: Int, object: JSONValue)] = []
        for line in JSONLines.lines(data.prefix(end), dropsByteOrderMark: false) {
            guard case .success(let object) = JSONLines.object(line.bytes) else {
                throw FileError.corruptLine(path: path, line: line.number, detail: "not a JSON object")
            }
            guard object["id"]?.stringValue != nil else {
                throw FileError.corruptLine(path: path, line: line.number, detail: "no string 'id'")
            }
            objects.append((line.number, object))
        }
        return JSONLScan(objects: objects, truncatedBytes: torn)
    }

    /// The `id` of every line, in file order.
    public var ids: [String] { objects.compactMap { $0.object["id"]?.stringValue } }
}

/// The encoder of one JSONL record: sorted keys, slashes unescaped.
public func lineEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}
