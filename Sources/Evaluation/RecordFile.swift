import CZlib
import Common
import Foundation
import JSON

/// One JSON object read from a record file, with where it came from (for error messages).
public struct SourcedRecord: Sendable {
    /// The object.
    public var value: JSONValue
    /// 1-based line in a JSONL file.
    public var line: Int?
    /// 0-based index in a JSON list.
    public var item: Int?
    /// The file.
    public var path: String

    /// The `field` member when it is a JSON string; nil when absent or of another type.
    public func string(_ field: String) -> String? { value[field]?.stringValue }

    /// The `field` member, a JSON string that must be there, or an error naming the record and what was found.
    public func requiredString(_ field: String) throws -> String {
        guard let member = value[field] else { throw bad(field, "missing") }
        guard let text = member.stringValue else { throw bad(field, "expected a string, found \(member.kind)") }
        return text
    }

    /// The id in `field`: a JSON string, or an integer written without a fraction (MBPP's ids are ints); nil when
    /// absent (or null), an error for any other type. Only id fields take numbers; every text field is a string.
    public func id(_ field: String) throws -> String? {
        guard let member = value[field], member != .null else { return nil }
        if let text = member.stringValue { return text }
        if let number = member.intValue { return String(number) }
        throw bad(field, "expected a string or an integer, found \(member.kind)")
    }

    /// The id in `field`, which must be there (see `id`).
    public func requiredID(_ field: String) throws -> String {
        guard let id = try id(field) else { throw bad(field, "missing") }
        return id
    }

    /// An error naming this record and `field`.
    func bad(_ field: String?, _ detail: String) -> EvaluationError {
        .badRecord(path: path, line: line, item: item, field: field, detail: detail)
    }

    /// The `field` member as a list of strings (absent reads as empty when `optional`).
    public func strings(_ field: String, optional: Bool = false) throws -> [String] {
        guard let member = value[field], member != .null else {
            if optional { return [] }
            throw EvaluationError.badRecord(path: path, line: line, item: item, field: field, detail: "missing")
        }
        guard let list = member.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
            throw EvaluationError.badRecord(
                path: path, line: line, item: item, field: field, detail: "expected a list of strings")
        }
        return list.map { $0.stringValue! }
    }
}

/// Reads the record files evaluation takes: JSONL, gzipped JSONL (`.gz`, or gzip's magic bytes), or a JSON list.
public enum RecordFile {
    /// The largest file, compressed or decompressed, read into memory (a gzip bomb stops here).
    public static let maximumBytes = 1 << 30

    /// Every object in the file, in order. Checked before any record is used, each failure naming the file, the line
    /// (and item of a JSON list) and the field:
    /// 1. the file, and a gzip file once decompressed, is at most `maximumBytes` (a gzip bomb stops there);
    /// 2. every line is JSON (blank lines are skipped) holding an object, or the file is a JSON list of objects;
    /// 3. every line is valid UTF-8, and no `\u` escape is a lone surrogate;
    /// 4. when `kind` is given ("task", "sample", "prediction"), the file holds at least one record.
    public static func read(path: String, kind: String? = nil, maximumBytes: Int = maximumBytes) throws
        -> [SourcedRecord]
    {
        let bytes = try contents(path: path, maximumBytes: maximumBytes)
        let records = try parse(bytes, path: path)
        if let (line, detail) = firstBadText(bytes) {
            throw badText(records, line: line, detail: detail, path: path)
        }
        if let kind, records.isEmpty {
            throw EvaluationError.badRecord(
                path: path, line: nil, item: nil, field: nil, detail: "no \(kind)s: the file holds no records")
        }
        return records
    }

    /// The file's bytes, decompressed when they are gzip data; either is refused past `maximumBytes`.
    static func contents(path: String, maximumBytes: Int = RecordFile.maximumBytes) throws -> [UInt8] {
        let bytes = try load(path: path, maximumBytes: maximumBytes)
        guard bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B else { return bytes }
        return try gunzip(bytes, path: path, maximumBytes: maximumBytes)
    }

    /// The objects of a JSON list or of JSONL text.
    static func parse(_ bytes: [UInt8], path: String) throws -> [SourcedRecord] {
        let entries: [DataFile.Entry]
        do {
            // Ill-formed UTF-8 and lone surrogate escapes become U+FFFD, so the text check after parsing can name
            // the field that holds them.
            let data = Data(bytes)
            entries = try DataFile.read(data, keyed: false, dropsByteOrderMark: false, repairingText: true).entries
        } catch DataFile.DocumentProblem.notJSON(let error) {
            throw EvaluationError.badRecord(path: path, line: nil, item: nil, field: nil, detail: "not JSON: \(error)")
        } catch {
            throw EvaluationError.badRecord(path: path, line: nil, item: nil, field: nil, detail: "not a JSON list")
        }
        return try entries.map { entry in
            var line: Int?
            var item: Int?
            switch entry.place {
            case .line(let number): line = number
            case .item(let index): item = index
            case .key: preconditionFailure("a record file is never read keyed")
            }
            switch entry.object {
            case .success(let value):
                return SourcedRecord(value: value, line: line, item: item, path: path)
            case .failure(.notJSON(let error)):
                throw EvaluationError.badRecord(
                    path: path, line: line, item: nil, field: nil, detail: "not JSON: \(error)")
            case .failure(.notObject):
                let detail = line == nil ? "not an object" : "not a JSON object"
                throw EvaluationError.badRecord(path: path, line: line, item: item, field: nil, detail: detail)
            }
        }
    }

    static func load(path: String, maximumBytes: Int) throws -> [UInt8] {
        do {
            return [UInt8](try InputFile.read(path: path, maximumBytes: maximumBytes))
        } catch FileError.io(_, let detail) {
            throw EvaluationError.io(path: path, detail: detail)
        }
    }

    /// Decompresses gzip data (every member of a multi-member file), stopping as soon as it passes `maximumBytes`.
    static func gunzip(_ input: [UInt8], path: String, maximumBytes: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        var stream = z_stream()
        // 15 + 16: a window of 2^15 and a gzip header (not zlib's).
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw EvaluationError.io(path: path, detail: "cannot start zlib")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = input
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                if status == Z_BUF_ERROR { throw EvaluationError.io(path: path, detail: "truncated gzip data") }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw EvaluationError.io(path: path, detail: "corrupt gzip data (zlib status \(status))")
                }
                guard output.count + produced <= maximumBytes else {
                    throw EvaluationError.io(
                        path: path, detail: "gzip data decompresses to more than \(maximumBytes) bytes, the limit")
                }
                output.append(contentsOf: chunk[..<produced])
                if status == Z_STREAM_END {
                    // gzip allows several members one after another; trailing zero padding ends the file.
                    let rest = Int(stream.avail_in)
                    if rest == 0 || source[(source.count - rest)...].allSatisfy({ $0 == 0 }) { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw EvaluationError.io(path: path, detail: "cannot restart zlib")
                    }
                }
            }
        }
        return output
    }
}
