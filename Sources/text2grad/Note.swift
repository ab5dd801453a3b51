import Foundation

/// This process's rank in a data-parallel job: only rank 0 speaks, the others report errors alone.
nonisolated(unsafe) var noteRank = 0

/// A line on standard error, for progress and warnings that must not mix with JSON output.
func note(_ message: String) {
    if noteRank == 0 {
        try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
    } else if message.hasPrefix("error") {
        try? FileHandle.standardError.write(contentsOf: Data("rank \(noteRank): \(message)\n".utf8))
    }
}
