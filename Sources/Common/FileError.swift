import Foundation

/// Errors reading or writing the plain files every command shares (JSONL, YAML configs); each names the file
/// and, where there is one, the 1-based line.
public enum FileError: Error, Equatable, CustomStringConvertible {
    /// A file could not be read or written.
    case io(path: String, detail: String)
    /// A complete line is not what the file must hold (not a torn tail, which resuming repairs).
    case corruptLine(path: String, line: Int, detail: String)
    /// A line of an input file cannot be used.
    case badLine(path: String, line: Int, detail: String)
    /// A configuration file or flag is invalid; `source` is the file or "flags".
    case badConfig(source: String, detail: String)

    public var description: String {
        switch self {
        case let .io(path, detail):
            return "\(path): \(detail)"
        case let .corruptLine(path, line, detail):
            return "\(path):\(line): not a valid record (\(detail)); fix or remove that line, then resume"
        case let .badLine(path, line, detail):
            return "\(path):\(line): \(detail)"
        case let .badConfig(source, detail):
            return "configuration \(source): \(detail)"
        }
    }
}
