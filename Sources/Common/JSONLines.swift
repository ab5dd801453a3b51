import Foundation
import JSON

/// One object of a JSONL file with its 1-based line number.
public struct JSONLine: Sendable {
    /// 1-based line number in the file.
    public let number: Int
    /// The parsed object (always `.object`, members in the line's order).
    public let object: JSONValue
}

/// Reading JSONL: one JSON object per line, blank lines ignored, every problem named by file and line.
/// The one reader behind every command's JSONL input (task data, SFT data, prompts, annotation records), and `lines`
/// the one line splitter behind every JSONL file read (data files, appended outputs, metrics).
public enum JSONLines {
    /// A raw line: its 1-based number and its bytes without the newline.
    public struct Line: Sendable {
        /// 1-based line number.
        public let number: Int
        /// The bytes of the line, without the newline.
        public let bytes: Data
    }

    /// The UTF-8 byte order mark.
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The lines of `data` that are not blank (spaces, tabs, CR), numbered from 1; a leading UTF-8 BOM is dropped
    /// unless `dropsByteOrderMark` is false.
    public static func lines(_ data: Data, dropsByteOrderMark: Bool = true) -> [Line] {
        var bytes = data
        if dropsByteOrderMark && bytes.starts(with: byteOrderMark) { bytes = bytes.dropFirst(3) }
        var lines: [Line] = []
        var start = bytes.startIndex
        var number = 1
        func add(_ end: Data.Index) {
            let slice = bytes[start..<end]
            if !slice.allSatisfy(isSpace) { lines.append(Line(number: number, bytes: Data(slice))) }
        }
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            add(index)
            start = bytes.index(after: index)
            number += 1
        }
        if start < bytes.endIndex { add(bytes.endIndex) }
        return lines
    }

    /// The JSON object on one line, or why it is not one.
    public static func object(_ bytes: Data) -> Result<JSONValue, FileLineProblem> {
        DataFile.entry(bytes, repairingText: false).mapError(problem)
    }

    /// How a JSONL line's problem reads, in the parser's words.
    public static func problem(_ problem: DataFile.EntryProblem) -> FileLineProblem {
        switch problem {
        case .notObject: return FileLineProblem(reason: "a line must hold one JSON object")
        case .notJSON(let error): return FileLineProblem(reason: "invalid JSON (\(error))")
        }
    }

    /// Reads every object of the file at `path`. A bad line goes to `onBadLine(number, reason)`, which by
    /// default throws `FileError.badLine`; a handler that returns skips the line.
    public static func read(
        path: String, onBadLine: (Int, String) throws -> Void = { throw FileError.badLine(path: "", line: $0, detail: $1) }
    ) throws -> [JSONLine] {
        let data = try InputFile.read(path: path)
        var records: [JSONLine] = []
        for line in lines(data) {
            switch object(line.bytes) {
            case .success(let object):
                records.append(JSONLine(number: line.number, object: object))
            case .failure(let problem):
                do {
                    try onBadLine(line.number, problem.reason)
                } catch FileError.badLine(path: "", let number, let detail) {
                    throw FileError.badLine(path: path, line: number, detail: detail)
                }
            }
        }
        return records
    }

    /// The length of `data`'s complete lines, up to and including its last newline. The bytes after it are a torn
    /// last line: a write that a kill (or a full disk) cut short.
    public static func completeLength(_ data: Data) -> Int {
        data.lastIndex(of: UInt8(ascii: "\n")).map { data.distance(from: data.startIndex, to: $0) + 1 } ?? 0
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
}

/// Why one line could not be read.
public struct FileLineProblem: Error, Sendable {
    /// What is wrong with the line.
    public let reason: String
}

extension JSONLines {
    /// One JSON value as a single line with sorted keys and unescaped slashes.
    public static func encode(_ value: JSONValue) -> String { value.sortedLine }
}

/// Standard output written without trapping: `FileHandle.write(_:)` traps when the write fails (a full disk behind
/// `>`), so results go through here and a failure is an error naming "standard output".
public enum StandardOutput {
    /// How errors name the stream.
    public static let name = "standard output"

    /// Writes `data`.
    public static func write(_ data: Data) throws {
        do {
            try FileHandle.standardOutput.write(contentsOf: data)
        } catch {
            throw FileError.io(path: name, detail: "cannot write (\(writeFailure(error)))")
        }
    }

    /// Writes `text` and a newline.
    public static func line(_ text: String) throws { try write(Data((text + "\n").utf8)) }
}

/// Why a read or write failed, in the system's words ("No space left on device") when Foundation wraps an errno;
/// any other error as it describes itself.
public func writeFailure(_ error: Error) -> String {
    let nsError = error as NSError
    guard nsError.domain == NSCocoaErrorDomain || nsError.domain == NSPOSIXErrorDomain else { return "\(error)" }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
    if nsError.code == CocoaError.fileWriteOutOfSpace.rawValue { return String(cString: strerror(ENOSPC)) }
    return nsError.localizedDescription
}
