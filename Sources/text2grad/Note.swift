import Foundation

/// A line on standard error, for progress and warnings that must not mix with JSON output.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
