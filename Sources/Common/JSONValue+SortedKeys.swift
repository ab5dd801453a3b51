import Foundation
import JSON

/// JSON text as the tool writes its records and files: every object's keys in the order `JSONSerialization` writes
/// with `.sortedKeys`, which the tool's JSONL records, results and config files have always had, so they keep their
/// bytes (`JSONEncoder`'s `.sortedKeys`, behind the `Codable` records, compares UTF-16 code units instead).
extension JSONValue {
    /// One line, compact: a JSONL record or a result on standard output.
    public var sortedLine: String { serialized(keyOrder: Self.sortedKeyOrder, pretty: false) }

    /// A document, pretty-printed: a config file or a summary.
    public var sortedDocument: String { serialized(keyOrder: Self.sortedKeyOrder, pretty: true) }

    /// `JSONSerialization`'s order of sorted keys: the locale's collation with case ignored (`_` before digits
    /// before letters, `é` beside `e`), runs of digits compared as numbers (`a2` before `a10`), ties broken by the
    /// characters themselves (`ab` before `aB`).
    public static func sortedKeyOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: [.numeric, .caseInsensitive, .forcedOrdering], range: a.startIndex..<a.endIndex,
                  locale: Locale.current) == .orderedAscending
    }
}
