import Foundation

/// The outcome of running a response's code against its tests, as written to the record's `execution`.
public struct ExecutionResult: Codable, Sendable, Equatable {
    /// True when the tests ran to their end and passed, in time: the harness proved it with the run's secret.
    public var passed: Bool
    /// The runner's exit code; minus the signal number when a signal ended it (as Python reports it).
    public var exitCode: Int32
    /// Standard output, clipped to `Sandbox.outputLimit` characters.
    public var stdout: String
    /// Standard error, clipped likewise.
    public var stderr: String
    /// True when the wall-clock limit ended the run.
    public var timedOut: Bool

    /// A result with every field.
    public init(passed: Bool, exitCode: Int32, stdout: String, stderr: String, timedOut: Bool) {
        self.passed = passed
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    enum CodingKeys: String, CodingKey {
        case passed, stdout, stderr
        case exitCode = "exit_code"
        case timedOut = "timed_out"
    }
}
