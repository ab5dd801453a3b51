import Foundation
import JSON

/// Files the tool writes whole (a report, a summary JSON, a marker): written atomically, so a failed write leaves
/// the previous file, and a failure is an error naming the file in the system's words ("No space left on device").
public enum OutputFile {
    /// Writes `data` to `path`; `what` says what the file is in the error ("the report").
    public static func write(_ data: Data, to path: String, what: String = "it") throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FileError.io(path: path, detail: "cannot write \(what) (\(writeFailure(error)))")
        }
    }

    /// Writes `text` as UTF-8.
    public static func write(_ text: String, to path: String, what: String = "it") throws {
        try write(Data(text.utf8), to: path, what: what)
    }

    /// Writes a JSON value, keys sorted, pretty-printed.
    public static func writeJSON(_ value: JSONValue, to path: String, what: String = "it") throws {
        try write(value.sortedDocument, to: path, what: what)
    }
}
