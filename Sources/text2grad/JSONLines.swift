import Foundation

/// A line of an input file that cannot be used, with its 1-based number.
struct InputLineError: Error, CustomStringConvertible {
    let path: String
    let line: Int
    let reason: String
    var description: String { "\(path):\(line): \(reason)" }
}

/// Reads a JSONL file into (line number, object) pairs; blank lines are skipped, anything else that is not
/// a JSON object is an `InputLineError` naming its line.
func readJSONLines(_ path: String) throws -> [(line: Int, object: [String: Any])] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputLineError(path: path, line: 0, reason: "cannot read the file")
    }
    var records: [(line: Int, object: [String: Any])] = []
    for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard !trimmed.isEmpty, !trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { continue }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed))) as? [String: Any] else {
            throw InputLineError(path: path, line: index + 1, reason: "not a JSON object")
        }
        records.append((index + 1, object))
    }
    return records
}

/// One JSON object as a single line with sorted keys.
func jsonLine(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

/// Writes to a file, or to standard output when no path is given.
final class OutputSink {
    private let handle: FileHandle

    init(path: String?) throws {
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw InputLineError(path: path, line: 0, reason: "cannot create the output file")
            }
            self.handle = handle
        } else {
            handle = FileHandle.standardOutput
        }
    }

    func writeLine(_ line: String) { handle.write(Data((line + "\n").utf8)) }
}

/// A line on standard error, for progress and warnings that must not mix with JSON output.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
