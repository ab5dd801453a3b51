import Foundation
import Testing
import TestSupport

/// `sft` writing its run into a file system that fills up mid-run (a tmpfs of half the room the run needs): it must
/// stop with an error naming the file it could not write and exit 3 (not a signal), keep every complete line of
/// metrics.jsonl and every finished checkpoint, and `--resume` after space is freed must finish with the same losses
/// as a run that never failed.
@Suite(.serialized) struct FullDiskCLITests {
    static func shell(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, outside a locked-down container).
    static let canMount: Bool = {
        let directory = NSTemporaryDirectory() + "mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard shell(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", directory]) == 0 else { return false }
        return shell(["umount", directory]) == 0
    }()

    /// Bytes the files under `directory` take in whole 4 KiB pages, as a tmpfs counts them.
    static func pages(_ directory: String) -> Int {
        let files = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        return files.reduce(0) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name))?[.size] as? Int ?? 0
            return total + (size + 4095) / 4096 * 4096
        }
    }

    /// The steps and losses of a metrics file; every line must be a complete JSON object.
    static func metrics(_ path: String) throws -> [(step: Int, loss: Double)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                                      "a complete line: \(line)")
            return (try #require(object["step"] as? Int), try #require(object["loss"] as? Double))
        }
    }

    /// A run directory on a tmpfs mounted at `disk` (removed afterwards), and a small SFT data file beside it.
    static func sft(_ output: String, data: String, steps: Int, saveEvery: Int, resume: Bool = false) throws
        -> (status: Int32?, stderr: String)
    {
        try BadInputCLITests.run(
            ["sft", "--model", BadInputCLITests.model, "--data", data, "--output", output, "--steps", "\(steps)",
             "--batch-size", "1", "--threads", "1", "--lora-rank", "2", "--save-every", "\(saveEvery)",
             "--keep-checkpoints", "2", "--max-length", "256"] + (resume ? ["--resume"] : []))
    }

    static func writeData(_ path: String) throws {
        try (0..<8).map { "{\"id\":\"e\($0)\",\"prompt\":\"Say \($0)\",\"completion\":\"It is \($0).\"}\n" }.joined()
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// metrics.jsonl is the write that fails: the disk has room for config.yaml and one page of metrics. The line
    /// that does not fit is cut back off, so the file ends with a whole line.
    @Test(.enabled(if: FullDiskCLITests.canMount, "mounting a tmpfs needs root with CAP_SYS_ADMIN; skipped"))
    func metricsWriteOnAFullDiskStopsWithWholeLines() throws {
        let directory = NSTemporaryDirectory() + "full-metrics-\(getpid())"
        let disk = directory + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        defer {
            _ = Self.shell(["umount", disk])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let data = directory + "/data.jsonl"
        try Self.writeData(data)
        try #require(Self.shell(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]) == 0)
        // 14 of the 16 pages taken: one left for config.yaml, one for metrics.jsonl.
        try Data(count: 14 * 4096).write(to: URL(fileURLWithPath: disk + "/filler"))
        let run = disk + "/run"
        let stopped = try Self.sft(run, data: data, steps: 60, saveEvery: 0)
        #expect(stopped.status == 3, "exit 3, not a signal or a trap: \(stopped.stderr)")
        #expect(stopped.stderr.contains("cannot write \(run)/metrics.jsonl: No space left on device"),
                "\(stopped.stderr)")
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        #expect(text.hasSuffix("\n"), "no torn last line")
        let lines = try Self.metrics(run + "/metrics.jsonl")
        #expect(lines.count > 1 && lines.map(\.step) == Array(1...lines.count), "every earlier line intact")
    }

    /// Results on standard output redirected to a full disk: an error naming standard output and exit 1, not a trap
    /// and not a silent exit 0 with the output lost.
    @Test(.enabled(if: FullDiskCLITests.canMount, "mounting a tmpfs needs root with CAP_SYS_ADMIN; skipped"))
    func standardOutputOnAFullDiskIsAnError() throws {
        let directory = NSTemporaryDirectory() + "full-stdout-\(getpid())"
        let disk = directory + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        defer {
            _ = Self.shell(["umount", disk])
            try? FileManager.default.removeItem(atPath: directory)
        }
        try #require(Self.shell(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]) == 0)
        try Data(count: 16 * 4096).write(to: URL(fileURLWithPath: disk + "/filler"))
        let tool = try TrainPolicyKillTests.executable()
        let model = BadInputCLITests.model
        let finished = try launch(URL(fileURLWithPath: "/bin/bash"), [
            "-c", "'\(tool)' tokenize --tokenizer '\(model)' --input <(printf 'hello\\n') > '\(disk)/out'",
        ])
        let stderr = finished.stderr
        #expect(finished.exitStatus == 1, "\(stderr)")
        #expect(stderr.contains("standard output: cannot write (No space left on device)"), "\(stderr)")
    }

    /// The commands that print a result (bench, report, demo) write it like every other output: a full standard
    /// output is an error naming it (exit 1), not a result silently lost. /dev/full fails every write with ENOSPC.
    @Test func benchResultToAFullStandardOutputIsAnError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let finished = try launch(
            URL(fileURLWithPath: try TrainPolicyKillTests.executable()),
            ["bench", "tokenize", "--tokenizer", BadInputCLITests.model, "--megabytes", "0.01", "--repeats", "1"],
            standardOutput: try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full")))
        let stderr = finished.stderr
        #expect(finished.exitStatus == 1, "\(stderr)")
        #expect(stderr.contains("standard output: cannot write (No space left on device)"), "\(stderr)")
    }

    @Test(.enabled(if: FullDiskCLITests.canMount, "mounting a tmpfs needs root with CAP_SYS_ADMIN; skipped"))
    func sftOnAFullDiskStopsCleanlyAndResumes() throws {
        let directory = NSTemporaryDirectory() + "full-disk-\(getpid())"
        let disk = directory + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        defer {
            _ = Self.shell(["umount", disk])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let data = directory + "/data.jsonl"
        try Self.writeData(data)
        func sft(_ output: String, resume: Bool = false) throws -> (status: Int32?, stderr: String) {
            try Self.sft(output, data: data, steps: 8, saveEvery: 2, resume: resume)
        }
        // The run on a roomy disk: the reference losses and the room a whole run takes.
        let reference = directory + "/reference"
        let full = try sft(reference)
        #expect(full.status == 0, "\(full.stderr)")
        let expected = try Self.metrics(reference + "/metrics.jsonl")
        #expect(expected.map(\.step) == Array(1...8))

        // Half that room: the run stops at the write that does not fit.
        let room = max(Self.pages(reference) / 2 / 4096 * 4096, 4096)
        try #require(Self.shell(["mount", "-t", "tmpfs", "-o", "size=\(room)", "tmpfs", disk]) == 0)
        let run = disk + "/run"
        let stopped = try sft(run)
        #expect(stopped.status == 3, "exit 3, not a signal or a trap: \(stopped.stderr)")
        #expect(stopped.stderr.contains("cannot write \(run)/"), "names the file: \(stopped.stderr)")
        #expect(stopped.stderr.contains("No space left on device"), "\(stopped.stderr)")
        let before = try Self.metrics(run + "/metrics.jsonl")
        #expect(before.map(\.step) == Array(1...before.count), "every earlier line intact")
        #expect(zip(before, expected).allSatisfy { $0.loss == $1.loss })

        // Room again: --resume finishes with the losses of the run that never stopped.
        try #require(Self.shell(["mount", "-o", "remount,size=16m", disk]) == 0)
        let resumed = try sft(run, resume: true)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try Self.metrics(run + "/metrics.jsonl")
        #expect(after.map(\.step) == Array(1...8))
        #expect(after.map(\.loss) == expected.map(\.loss), "resumed losses equal the uninterrupted run's")
    }
}
