import Foundation

/// The `text2grad` executable `swift test` built beside the test bundle (it builds every product first), or nil.
public func text2gradExecutable(filePath: String = #filePath) -> URL? {
    var candidates: [URL] = []
    if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() {
        candidates.append(bundle.appendingPathComponent("text2grad"))
    }
    for bundle in Bundle.allBundles {
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("text2grad"))
    }
    let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/text2grad"))
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// The `text2grad` executable, or an error saying to build it.
public func requireText2grad() throws -> URL {
    guard let executable = text2gradExecutable() else {
        throw EndpointError(
            description: "text2grad executable not found beside the test bundle; run `swift build` first")
    }
    return executable
}

/// How a launched process ended and what it wrote.
public struct Finished: Sendable {
    /// The exit status, or the signal's number when a signal ended it.
    public var status: Int32
    /// Whether it exited or a signal ended it.
    public var reason: Process.TerminationReason
    /// Standard output (empty when it went elsewhere).
    public var stdout: String
    /// Standard error.
    public var stderr: String

    /// The exit status, or nil when a signal ended the process.
    public var exitStatus: Int32? { reason == .exit ? status : nil }
}

/// Runs `executable` until it ends or `timeout` seconds pass, whichever is first.
///
/// 1. Standard output and error go to files, read back at the end (a pipe nobody reads can fill and stall the
///    process); `standardOutput`, when given, replaces the output file (e.g. /dev/full).
/// 2. `environment` nil inherits the test's environment; otherwise the process sees exactly it.
/// 3. Past the deadline the process is terminated, waited for, and `EndpointError` thrown naming the command.
public func launch(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
    standardOutput: FileHandle? = nil, timeout: Double = 600
) throws -> Finished {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-launch-\(UUID().uuidString)").path
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: base + ".out")
        try? FileManager.default.removeItem(atPath: base + ".err")
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = standardOutput ?? FileHandle(forWritingAtPath: base + ".out")
    process.standardError = FileHandle(forWritingAtPath: base + ".err")
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        let command = ([executable.lastPathComponent] + arguments).joined(separator: " ")
        throw EndpointError(description: "\(command) did not finish in \(timeout) s")
    }
    process.waitUntilExit()
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return Finished(status: process.terminationStatus, reason: process.terminationReason,
                    stdout: read(base + ".out"), stderr: read(base + ".err"))
}
