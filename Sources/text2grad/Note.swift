import ArgumentParser
import Foundation

/// This process's rank in a data-parallel job: only rank 0 speaks, the others report errors alone.
// nonisolated(unsafe): set once, by `distributed` before the training command starts its work.
nonisolated(unsafe) var noteRank = 0

/// A line on standard error, for progress and warnings that must not mix with JSON output.
func note(_ message: String) {
    if noteRank == 0 {
        try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
    } else if message.hasPrefix("error") {
        try? FileHandle.standardError.write(contentsOf: Data("rank \(noteRank): \(message)\n".utf8))
    }
}

/// The exit statuses of every command, in one place (the README's "Exit status" table).
enum Exit {
    /// Bad input or an I/O error: the message names the file (and line and field); nothing usable was made.
    static let failure = ExitCode(1)
    /// The work finished but some items failed: annotate's failures file, a failing reference in `eval code`.
    static let partial = ExitCode(2)
    /// Training stopped mid-run (a checkpoint or log could not be written, a bad batch): what was written is
    /// intact and `--resume` continues from it.
    static let interrupted = ExitCode(3)
    /// A usage error (flags or their values), as swift-argument-parser reports it.
    static let usage = ExitCode.validationFailure
}
