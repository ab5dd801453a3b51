import Foundation
import Logging
import TestSupport
import Testing

@testable import Annotation
@testable import Common
@testable import LLMClient
@testable import CodeSandbox

/// JSONL text for objects.
func jsonl(_ objects: [[String: Any]]) throws -> String {
    try objects.map {
        String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self)
    }
    .joined(separator: "\n") + "\n"
}

/// Each line of a JSONL file parsed; a line that does not parse is reported as a test failure.
func readJSONL(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var objects: [[String: Any]] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty
    {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Issue.record(
                "line \(index + 1) of \(path) is not a JSON object: \(line.prefix(120))", sourceLocation: sourceLocation
            )
            continue
        }
        objects.append(object)
    }
    return objects
}

/// A summarization item whose response is distinctive enough for a script to recognise.
func summaryItem(_ id: String, response: String? = nil) -> [String: Any] {
    [
        "id": id, "post": "Post \(id): my cat Miso moved with me to Berlin in March and hates the tram.",
        "generated_summary": response ?? "Summary \(id): the cat Miso moved to Berlin in May.",
    ]
}

/// A config for in-process runs against `endpoint`, with nothing taken from the environment.
func testConfig(_ directory: TempDirectory, input: String, endpoint: ScriptedEndpoint) -> AnnotateConfig {
    var config = AnnotateConfig(environment: [:])
    config.input = input
    config.output = directory.path("out.jsonl")
    config.endpoint.baseURL = endpoint.baseURL
    config.endpoint.apiKey = "sk-test-key-0123456789"
    config.endpoint.model = "gpt-4o-mini"
    config.endpoint.backoffBase = 0.01
    config.endpoint.backoffCap = 0.05
    config.endpoint.timeoutSeconds = 5
    config.progress = .none
    return config
}

/// A logger that keeps each message with its level, for runs whose log lines are checked.
// Unchecked Sendable: its entries are read and written under its lock.
final class LogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(level: Logger.Level, message: String)] = []

    var messages: [(level: Logger.Level, message: String)] { lock.withLock { entries } }

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            recorder.lock.withLock { recorder.entries.append((level, "\(message)")) }
        }
    }
}

/// Runs the executable to completion (bounded by `timeout`), returning status and stderr.
func runCLI(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 120) throws
    -> (status: Int32, stderr: String)
{
    let finished = try launch(try requireText2grad(), arguments, environment: cliEnvironment(environment),
                              standardOutput: FileHandle.nullDevice, timeout: timeout)
    return (finished.status, finished.stderr)
}

/// The test's PATH and nothing else from its environment, plus `environment`.
func cliEnvironment(_ environment: [String: String]) -> [String: String] {
    ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"].merging(environment) { _, new in new }
}

/// Starts the executable with stderr going to a file; the caller removes `stderrPath`.
func startCLI(_ arguments: [String], environment: [String: String] = [:]) throws
    -> (process: Process, stderrPath: String)
{
    let process = Process()
    process.executableURL = try requireText2grad()
    process.arguments = arguments
    process.environment = cliEnvironment(environment)
    let stderrPath = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-cli-\(UUID().uuidString).log")
        .path
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    process.standardError = FileHandle(forWritingAtPath: stderrPath)
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    return (process, stderrPath)
}
