import Foundation

/// Errors from the annotation layer; each names what went wrong, where, and what to do about it.
///
/// Bad input and a bad environment are thrown as these; programmer errors are preconditions.
/// None of the cases ever carries the API key: client errors are built from redacted text.
public enum AnnotationError: Error, Equatable, CustomStringConvertible {
    /// A file could not be read or written.
    case io(path: String, detail: String)
    /// An input line or item is malformed; `line` is 1-based for JSONL, `item` names the key or index.
    case badInput(path: String, line: Int?, item: String?, detail: String)
    /// The configuration (YAML or flags) is invalid.
    case badConfig(source: String, detail: String)
    /// A custom task file is invalid.
    case badTask(path: String, detail: String)
    /// A prompt template refers to a field the item does not have.
    case missingField(item: String, field: String)
    /// The output exists and neither resuming nor overwriting was asked for.
    case outputExists(path: String)
    /// The first items all failed the same way at the endpoint, so the run stopped early.
    case endpointFailing(items: Int, kind: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, detail):
            return "\(path): \(detail)"
        case let .badInput(path, line, item, detail):
            var place = path
            if let line { place += ":\(line)" }
            if let item { place += " (item \(item))" }
            return "\(place): \(detail)"
        case let .badConfig(source, detail):
            return "configuration \(source): \(detail)"
        case let .badTask(path, detail):
            return "task file \(path): \(detail)"
        case let .missingField(item, field):
            return "item \(item): the prompt template needs field '\(field)', which the item does not have"
        case let .outputExists(path):
            return "\(path) already exists; pass --resume to continue it or --overwrite to start over"
        case let .endpointFailing(items, kind, reason):
            return "stopped: the first \(items) items all failed with \(kind) (last: \(reason)); check base_url, "
                + "model and API key, then rerun with --retry-failed"
        }
    }
}
