import Common
import Foundation
import JSON
import Tasks

/// What to do with an input line or item that cannot be used.
public enum BadLinePolicy: String, Codable, Sendable, CaseIterable {
    /// Report it (stderr, failures file, summary) and go on.
    case skip
    /// Stop before any request is sent.
    case fatal
}

/// The items of one input file plus every entry that was rejected, each with its place.
public struct Dataset: Sendable {
    /// Usable items, in file order (JSONL, list) or key order (dict keyed by id).
    public var items: [TaskItem]
    /// Rejected entries; empty unless the policy is `.skip`.
    public var rejected: [RejectedInput]
}

/// An input entry that was skipped, with its line number or key.
public struct RejectedInput: Sendable, Equatable {
    /// The id if one could be read, else the origin.
    public var id: String?
    /// 1-based line in a JSONL file, nil for whole-file JSON.
    public var line: Int?
    /// The complete error, naming file, line or key and the reason.
    public var error: AnnotationError

    /// The id its failures-file entry is written under: the id, else the line.
    public var failureID: String { id ?? line.map { "line \($0)" } ?? "unknown" }
}

/// Reads task data in the forms the data sets ship in.
///
/// Accepted forms, detected from the content:
/// 1. JSONL, one object per line (blank lines are ignored);
/// 2. a JSON list of objects (UltraFeedback exports, KodCode `to_json` arrays);
/// 3. a JSON object keyed by id whose values are objects (SLF5K as the authors use it); the key is the id.
public enum DatasetReader {
    /// Reads and maps `path`; throws on the first bad entry when `policy` is `.fatal`.
    public static func read(path: String, policy: BadLinePolicy) throws -> Dataset {
        let data: Data
        do {
            data = try InputFile.read(path: path)
        } catch FileError.io(_, let detail) {
            throw AnnotationError.io(path: path, detail: "input: \(detail)")
        }
        return try parse(data, path: path, policy: policy)
    }

    /// Parses file contents; `path` only labels errors.
    public static func parse(_ data: Data, path: String, policy: BadLinePolicy) throws -> Dataset {
        let read: (form: DataFile.Form, entries: [DataFile.Entry])
        do {
            read = try DataFile.read(data, keyed: true, dropsByteOrderMark: true)
        } catch DataFile.DocumentProblem.notJSON(let error) {
            throw AnnotationError.badInput(
                path: path, line: nil, item: nil, detail: "neither JSONL nor valid JSON (\(error))")
        } catch {
            throw AnnotationError.badInput(
                path: path, line: nil, item: nil, detail: "top level must be a list or an object")
        }
        if read.form == .lines && read.entries.isEmpty {
            throw AnnotationError.badInput(path: path, line: nil, item: nil, detail: "the file holds no items")
        }
        var builder = Builder(path: path, policy: policy)
        for entry in read.entries {
            switch (entry.place, entry.object) {
            case let (.line(number), .success(object)):
                try builder.add(object, fallbackID: String(number), line: number, key: nil)
            case let (.line(number), .failure(problem)):
                try builder.reject(line: number, id: nil, detail: JSONLines.problem(problem).reason)
            case let (.item(index), .success(object)):
                try builder.add(object, fallbackID: String(index + 1), line: nil, key: nil)
            case let (.item(index), .failure):
                try builder.reject(line: nil, id: "#\(index + 1)", detail: "list entry is not an object")
            case let (.key(key), .success(object)):
                try builder.add(object, fallbackID: key, line: nil, key: key)
            case let (.key(key), .failure):
                try builder.reject(line: nil, id: key, detail: "value is not an object")
            }
        }
        return Dataset(items: builder.items, rejected: builder.rejected)
    }

    /// Collects items and rejections, enforcing the policy and unique ids.
    private struct Builder {
        let path: String
        let policy: BadLinePolicy
        var items: [TaskItem] = []
        var rejected: [RejectedInput] = []
        var seen: [String: String] = [:]

        init(path: String, policy: BadLinePolicy) {
            self.path = path
            self.policy = policy
        }

        mutating func add(_ object: JSONValue, fallbackID: String, line: Int?, key: String?) throws {
            let origin = line.map { "line \($0)" } ?? key.map { "key \($0)" } ?? "item \(fallbackID)"
            do {
                var item = try ItemMapper.map(object, fallbackID: fallbackID, origin: origin)
                if let key {
                    item.id = key
                    item.fields["id"] = key
                }
                if let earlier = seen[item.id] {
                    // Not under the repeated id: that id is the first entry's, whose record would drop this
                    // failure when the failures file is compacted. The line (or list position) names it instead.
                    try reject(line: line, id: line == nil ? "#\(fallbackID)" : nil,
                               detail: "duplicate id '\(item.id)' (first at \(earlier))")
                    return
                }
                seen[item.id] = origin
                items.append(item)
            } catch let error as ItemMapper.ItemError {
                try reject(line: line, id: key, detail: error.description)
            }
        }

        mutating func reject(line: Int?, id: String?, detail: String) throws {
            let error = AnnotationError.badInput(path: path, line: line, item: id, detail: detail)
            if policy == .fatal { throw error }
            rejected.append(RejectedInput(id: id, line: line, error: error))
        }
    }
}
