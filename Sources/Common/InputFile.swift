import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading a whole input file named by a path, whatever is behind it: a regular file, a FIFO, `/dev/stdin` on a pipe,
/// or a process substitution (`<(…)`, a `/dev/fd/N` path).
///
/// Why not `FileManager.contents(atPath:)` or `String(contentsOfFile:)`: they take the size from `stat` and read that
/// many bytes, which for a pipe is zero (an empty file) or fails ("You don't have permission"). This reads until end
/// of file instead, once, so a pipe's contents are read exactly once. Every command that reads a file by path goes
/// through here.
public enum InputFile {
    /// The bytes of `path`; a file past `maximumBytes` (checked before reading when the size is known, and while
    /// reading a pipe) is an error naming it. Errors are `FileError.io` with the system's reason.
    public static func read(path: String, maximumBytes: Int = Int.max) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError.io(path: path, detail: "cannot read (\(systemReason(errno)))") }
        defer { _ = systemClose(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw FileError.io(path: path, detail: "cannot read (\(systemReason(errno)))")
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw FileError.io(path: path, detail: "is a directory, not a file") }
        let known = status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
        if known > maximumBytes { throw tooLarge(path: path, bytes: known, maximumBytes: maximumBytes) }
        var data = Data(capacity: known + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError.io(path: path, detail: "cannot read (\(systemReason(errno)))")
            }
            guard data.count + count <= maximumBytes else {
                throw tooLarge(path: path, bytes: data.count + count, maximumBytes: maximumBytes)
            }
            data.append(contentsOf: chunk[..<count])
        }
        return data
    }

    /// The text of `path`, which must be UTF-8 (a leading BOM is kept; callers that allow one drop it).
    public static func text(path: String, maximumBytes: Int = Int.max) throws -> String {
        let data = try read(path: path, maximumBytes: maximumBytes)
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileError.io(path: path, detail: "not valid UTF-8 text")
        }
        return text
    }

    static func tooLarge(path: String, bytes: Int, maximumBytes: Int) -> FileError {
        .io(path: path, detail: "\(bytes) bytes or more is over the \(maximumBytes)-byte limit")
    }

}

