import Foundation
import JSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes JSONL lines to a new file, to a file it appends to, or to standard output: the one writer behind every
/// JSONL output (command results, annotation records, evaluation results, metrics and samples).
///
/// Each line is one `write(2)` of the whole line, newline included, straight to the kernel: no user-space buffer that
/// a kill could lose, and with `O_APPEND` the line lands at the end of the file at once, so a killed process leaves
/// only whole lines, except when the kernel itself split a write (a disk nearly full, a huge line); the readers cut
/// such a torn last line off. A failed write (a full disk, a closed pipe) is an error naming the file, never a trap.
public final class JSONLWriter {
    /// The file, or "standard output".
    public let path: String
    private var descriptor: Int32
    private let ownsDescriptor: Bool

    /// Creates (or empties) `path`, which may also be a pipe (`/dev/stdout`, `>(…)`); nil writes to standard output.
    public init(path: String?) throws {
        guard let path else {
            descriptor = STDOUT_FILENO
            ownsDescriptor = false
            self.path = StandardOutput.name
            return
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError.io(path: path, detail: "cannot create the output file (\(systemReason(errno)))")
        }
        ownsDescriptor = true
        self.path = path
    }

    /// Opens `path` for appending, creating it. `exclusive` also takes an advisory lock that no other writer can take
    /// while this one is open (two runs appending to one file would write some ids twice); the kernel drops it when
    /// the process dies, so a killed run never leaves the file locked.
    public init(appendingTo path: String, exclusive: Bool = false) throws {
        self.path = path
        ownsDescriptor = true
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError.io(path: path, detail: "cannot open for appending (\(systemReason(errno)))")
        }
        if exclusive && flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno == EWOULDBLOCK ? "another run is writing this file" : systemReason(errno)
            _ = systemClose(descriptor)
            throw FileError.io(path: path, detail: "cannot lock (\(reason))")
        }
    }

    deinit { close() }

    /// Writes one object as a line (sorted keys, slashes unescaped).
    public func write(_ value: JSONValue) throws { try writeLine(JSONLines.encode(value)) }

    /// Writes one already-encoded line; a failure is a `FileError.io` naming the file.
    public func writeLine(_ line: String) throws {
        do {
            try append(Data((line + "\n").utf8))
        } catch let failure as WriteFailure {
            throw FileError.io(path: path, detail: "cannot write (\(failure.reason))")
        }
    }

    /// Writes `bytes`, whole lines with their newlines, in one `write` call; the loop only continues after a signal
    /// or a short write. Throws `WriteFailure` in the system's words, for the caller to word.
    public func append(_ bytes: Data) throws {
        guard descriptor >= 0 else { throw WriteFailure(reason: "the file is closed") }
        try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteFailure(reason: systemReason(errno))
                }
                offset += written
            }
        }
    }

    /// Forces what was written to the disk.
    public func synchronize() throws {
        guard fsync(descriptor) == 0 else { throw WriteFailure(reason: systemReason(errno)) }
    }

    /// The file's length in bytes; nil for a pipe.
    public func length() -> Int? {
        let end = lseek(descriptor, 0, SEEK_END)
        return end < 0 ? nil : Int(end)
    }

    /// Cuts the file back to `length` bytes, so a failed append leaves no part of a line behind.
    public func truncate(to length: Int) {
        _ = ftruncate(descriptor, off_t(length))
    }

    /// Closes the file (never standard output); later writes fail.
    public func close() {
        if ownsDescriptor && descriptor >= 0 { _ = systemClose(descriptor) }
        descriptor = -1
    }

}

/// Why a write failed, in the system's words ("No space left on device").
public struct WriteFailure: Error, CustomStringConvertible {
    /// The system's reason.
    public let reason: String
    public var description: String { reason }
}

