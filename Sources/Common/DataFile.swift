import Foundation

/// The parser a `DataFile` read uses. The reader is one for every command; the parser is the caller's (Foundation's
/// for annotation input, the strict order-keeping `JSONValue` for evaluation), so each keeps its values and messages.
public protocol JSONDialect {
    /// Any parsed JSON value.
    associatedtype Value
    /// A parsed JSON object, as the caller keeps it.
    associatedtype Object

    /// Parses one JSON text: a line, or the whole file.
    static func parse(_ bytes: Data) throws -> Value
    /// `value` as an object; nil when it is not one.
    static func object(_ value: Value) -> Object?
    /// `value` as a list; nil when it is not one.
    static func elements(_ value: Value) -> [Value]?
    /// The members of `object`, in any order.
    static func members(_ object: Object) -> [(key: String, value: Value)]
}

/// Foundation's `JSONSerialization`: objects are `[String: Any]` (immutable once read).
public enum FoundationJSON: JSONDialect {
    public static func parse(_ bytes: Data) throws -> Any { try JSONSerialization.jsonObject(with: bytes) }
    public static func object(_ value: Any) -> [String: Any]? { value as? [String: Any] }
    public static func elements(_ value: Any) -> [Any]? { value as? [Any] }
    public static func members(_ object: [String: Any]) -> [(key: String, value: Any)] { object.map { ($0, $1) } }

    /// Why `parse` failed, in `JSONSerialization`'s words.
    public static func reason(_ error: Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
    }
}

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

    /// One entry and where it is.
    public struct Entry<Object> {
        public let place: Place
        public let object: Result<Object, EntryProblem>
    }

    /// The entries of `data` in file order (key order when keyed), as `dialect` parses them. `dropsByteOrderMark`
    /// skips a leading UTF-8 BOM; throws `DocumentProblem` only for a list or keyed document that cannot be read.
    public static func read<Dialect: JSONDialect>(
        _ data: Data, as dialect: Dialect.Type, keyed: Bool, dropsByteOrderMark: Bool
    ) throws -> (form: Form, entries: [Entry<Dialect.Object>]) {
        let lines = JSONLines.lines(data, dropsByteOrderMark: dropsByteOrderMark)
        guard let first = lines.first else { return (.lines, []) }
        let whole = first.bytes.first { !JSONLines.isSpace($0) } == UInt8(ascii: "[")
            || (keyed && !looksLikeJSONL(lines, as: dialect))
        guard whole else {
            return (.lines, lines.map { Entry(place: .line($0.number), object: entry($0.bytes, as: dialect)) })
        }
        var body = data
        if dropsByteOrderMark && body.starts(with: JSONLines.byteOrderMark) { body = body.dropFirst(3) }
        let root: Dialect.Value
        do {
            root = try dialect.parse(body)
        } catch {
            throw DocumentProblem.notJSON(error)
        }
        if let list = dialect.elements(root) {
            return (.list, list.enumerated().map { index, value in
                Entry(place: .item(index), object: dialect.object(value).map { .success($0) } ?? .failure(.notObject))
            })
        }
        guard keyed, let object = dialect.object(root) else { throw DocumentProblem.notListOrObject }
        let members = dialect.members(object).sorted { $0.key < $1.key }
        return (.keyed, members.map { key, value in
            Entry(place: .key(key), object: dialect.object(value).map { .success($0) } ?? .failure(.notObject))
        })
    }

    /// The object on one line, or why it is not one.
    static func entry<Dialect: JSONDialect>(_ bytes: Data, as dialect: Dialect.Type)
        -> Result<Dialect.Object, EntryProblem>
    {
        do {
            guard let object = dialect.object(try dialect.parse(bytes)) else { return .failure(.notObject) }
            return .success(object)
        } catch {
            return .failure(.notJSON(error))
        }
    }

    /// JSONL unless the file is one line holding a non-empty object of objects (a compact keyed document), or its
    /// first line is not a complete object (a pretty-printed document).
    static func looksLikeJSONL<Dialect: JSONDialect>(_ lines: [JSONLines.Line], as dialect: Dialect.Type) -> Bool {
        guard case .success(let object) = entry(lines[0].bytes, as: dialect) else { return false }
        if lines.count > 1 { return true }
        let members = dialect.members(object)
        return !(!members.isEmpty && members.allSatisfy { dialect.object($0.value) != nil })
    }
}
