import Foundation
import JSON

/// Reading the files of records that data sets ship, whatever their form; the one reader behind annotation input
/// and evaluation's record files. The form is detected from the content:
/// 1. JSONL, one object per line (lines of spaces, tabs and CRs skipped, numbered from 1);
/// 2. a JSON list of objects, when the first character that is not white space is `[`;
/// 3. only when `keyed` is set: a JSON object whose values are objects, keyed by id (read in key order). It is the
///    form when the file is one line holding a non-empty object of objects, or when the first line is not a complete
///    object (a pretty-printed document).
///
/// A file without a line of text reads as empty JSONL. Entries are returned with their problems, never thrown, so
/// each caller words them (and skips or stops) as its own errors do; only a whole document that cannot be read throws.
public enum DataFile {
    /// Where an entry is in its file.
    public enum Place: Sendable, Equatable {
        /// A 1-based line of JSONL.
        case line(Int)
        /// A 0-based index in a JSON list.
        case item(Int)
        /// The key of a JSON object keyed by id.
        case key(String)
    }

    /// The form the file was read in.
    public enum Form: Sendable, Equatable {
        case lines, list, keyed
    }

    /// Why one entry is not an object.
    public enum EntryProblem: Error {
        /// The line is not JSON (the parser's error).
        case notJSON(Error)
        /// The line, list element or keyed value is JSON but not an object.
        case notObject
    }

    /// Why a whole-file document cannot be read.
    public enum DocumentProblem: Error {
        /// The document is not JSON (the parser's error).
        case notJSON(Error)
        /// The document is neither a list nor (when keyed) an object.
        case notListOrObject
    }

    /// One entry and where it is; its object is always `.object`.
    public struct Entry {
        public let place: Place
        public let object: Result<JSONValue, EntryProblem>
    }

    /// The entries of `data` in file order (key order when keyed), as the strict parser reads them; `repairingText`
    /// turns ill-formed UTF-8 and lone surrogates into U+FFFD (see `JSONValue.parse`). `dropsByteOrderMark` skips a
    /// leading UTF-8 BOM; throws `DocumentProblem` only for a list or keyed document that cannot be read.
    public static func read(
        _ data: Data, keyed: Bool, dropsByteOrderMark: Bool, repairingText: Bool = false
    ) throws -> (form: Form, entries: [Entry]) {
        let lines = JSONLines.lines(data, dropsByteOrderMark: dropsByteOrderMark)
        guard let first = lines.first else { return (.lines, []) }
        let whole = first.bytes.first { !JSONLines.isSpace($0) } == UInt8(ascii: "[")
            || (keyed && !looksLikeJSONL(lines, repairingText: repairingText))
        guard whole else {
            return (.lines, lines.map {
                Entry(place: .line($0.number), object: entry($0.bytes, repairingText: repairingText))
            })
        }
        var body = data
        if dropsByteOrderMark && body.starts(with: JSONLines.byteOrderMark) { body = body.dropFirst(3) }
        let root: JSONValue
        do {
            root = try JSONValue.parse([UInt8](body), repairingText: repairingText)
        } catch {
            throw DocumentProblem.notJSON(error)
        }
        if let list = root.arrayValue {
            return (.list, list.enumerated().map { index, value in
                Entry(place: .item(index), object: value.objectValue != nil ? .success(value) : .failure(.notObject))
            })
        }
        guard keyed, let members = root.objectValue else { throw DocumentProblem.notListOrObject }
        return (.keyed, members.sorted { $0.key < $1.key }.map { key, value in
            Entry(place: .key(key), object: value.objectValue != nil ? .success(value) : .failure(.notObject))
        })
    }

    /// The object on one line, or why it is not one.
    static func entry(_ bytes: Data, repairingText: Bool) -> Result<JSONValue, EntryProblem> {
        do {
            let value = try JSONValue.parse([UInt8](bytes), repairingText: repairingText)
            return value.objectValue != nil ? .success(value) : .failure(.notObject)
        } catch {
            return .failure(.notJSON(error))
        }
    }

    /// JSONL unless the file is one line holding a non-empty object of objects (a compact keyed document), or its
    /// first line is not a complete object (a pretty-printed document).
    static func looksLikeJSONL(_ lines: [JSONLines.Line], repairingText: Bool) -> Bool {
        guard case .success(let object) = entry(lines[0].bytes, repairingText: repairingText) else { return false }
        if lines.count > 1 { return true }
        let members = object.objectValue ?? []
        return !(!members.isEmpty && members.allSatisfy { $0.value.objectValue != nil })
    }
}
