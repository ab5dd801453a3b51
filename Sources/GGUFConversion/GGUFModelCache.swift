import Common
import Foundation
import GGUF

/// GGUF files used where a model directory is expected: each is converted once (fp32 weights) into a directory
/// under the cache, named after the file and keyed by its path, size and modification time, so a changed file is
/// converted again and an unchanged one is not.
///
/// The conversion is written to a directory of its own and renamed into place, so a crash leaves no half model and
/// processes converting the same file at once (the ranks of an MPI job) end with one complete copy.
public enum GGUFModelCache {
    /// `$TEXT2GRAD_CACHE/gguf`, else `$XDG_CACHE_HOME/text2grad/gguf`, else `~/.cache/text2grad/gguf`.
    public static var defaultRoot: String {
        let environment = ProcessInfo.processInfo.environment
        if let root = environment["TEXT2GRAD_CACHE"], !root.isEmpty { return root + "/gguf" }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/text2grad/gguf" }
        return NSHomeDirectory() + "/.cache/text2grad/gguf"
    }

    /// Whether `path` is a regular file that starts with GGUF's magic bytes.
    public static func isGGUF(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
              let handle = FileHandle(forReadingAtPath: path) else {
            return false
        }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
    }

    /// The model directory for `path`: `path` itself unless it is a GGUF file, else its converted copy under
    /// `root` (made now when missing; `log` hears about it).
    public static func directory(
        for path: String, root: String = defaultRoot, log: (String) -> Void = { _ in }
    ) throws -> String {
        guard isGGUF(path) else { return path }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        var info = stat()
        guard stat(absolute, &info) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        var key = Fingerprint()
        key.add(absolute)
        key.add([Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)])
        let stem = URL(fileURLWithPath: absolute).deletingPathExtension().lastPathComponent
        let target = root + "/" + stem + "-" + String(key.value, radix: 16)
        if FileManager.default.fileExists(atPath: target + "/config.json") { return target }

        let partial = target + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: partial)
        log("converting \(path) into \(target) (once)")
        do {
            let summary = try GGUFImport.convert(gguf: absolute, to: partial)
            let types = summary.tensorTypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            log("converted \(summary.parameterCount) parameters (\(types.joined(separator: ", ")))")
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        if rename(partial, target) != 0 {
            // Another process finished first (the target exists): keep its copy.
            try? FileManager.default.removeItem(atPath: partial)
            guard FileManager.default.fileExists(atPath: target + "/config.json") else {
                throw GGUFError.cannotWrite(path: target, reason: String(cString: strerror(errno)))
            }
        }
        return target
    }
}
