import Foundation
import Testing
@testable import Training

/// Crash safety of checkpoints on the SFT fixture run: a corrupt newest checkpoint falls back to the one before
/// (and says which file), a leftover of a kill during pruning is never listed and is removed by the next save,
/// and a run whose every checkpoint is corrupt refuses to resume, naming the files.
///
/// Part of the serialized SFT suite: two training runs at once in one process share the compute and BLAS
/// threads, and their losses then differ in the last bits, which breaks the exact-resume comparisons.
extension SFTTrainerTests {
    /// The SFT test run, 6 steps, checkpoints every 2 (the newest 2 kept).
    static func checkpointConfig(_ directory: String, data: String, run: String) -> SFTConfig {
        var c = SFTTrainerTests.config(directory, data: data, run: run, lora: false)
        c.loop.steps = 6
        c.loop.evalEvery = 0
        return c
    }

    /// Cuts `path` to its first 3 bytes (a disk that filled up, a torn copy).
    static func tear(_ path: String) throws {
        #expect(FileManager.default.fileExists(atPath: path), "\(path) is not there")
        #expect(truncate(path, 3) == 0)
    }

    @Test func corruptNewestCheckpointFallsBackToThePreviousOne() throws {
        let (directory, data) = try SFTTrainerTests.scratch("ckpt-fallback")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SFTTrainer(config: Self.checkpointConfig(directory, data: data, run: "straight")).run()
        let c = Self.checkpointConfig(directory, data: data, run: "corrupt")
        try SFTTrainer(config: c).run(until: 5)
        #expect(Checkpoint.steps(in: c.loop.output) == [2, 4])
        let torn = Checkpoint.directory(run: c.loop.output, step: 4) + "/model.safetensors"
        try Self.tear(torn)

        var warnings: [String] = []
        let resumed = try SFTTrainer(config: c, resume: true, warn: { warnings.append($0) })
        #expect(resumed.state.step == 2)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("step-4") == true && warnings.first?.contains(torn) == true, "\(warnings)")
        let rest = try resumed.run()
        #expect(rest.map(\.step) == [3, 4, 5, 6])
        let a = try MetricsLog.losses(path: directory + "/straight/metrics.jsonl")
        let b = try MetricsLog.losses(path: c.loop.output + "/metrics.jsonl")
        #expect(a.count == 6 && b.count == 6)
        for step in 1...6 { #expect(a[step] == b[step], "step \(step): \(a[step] ?? .nan) vs \(b[step] ?? .nan)") }
        // Step 4 was written again, whole, over the corrupt one.
        #expect(Checkpoint.steps(in: c.loop.output) == [4, 6])
        #expect(try Data(contentsOf: URL(fileURLWithPath: torn)).count > 3)
    }

    /// A kill while pruning step 2 leaves `.step-2.delete` half removed and no `step-2`.
    @Test func leftoverOfAKilledPruneIsIgnoredAndRemoved() throws {
        let (directory, data) = try SFTTrainerTests.scratch("ckpt-prune")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = Self.checkpointConfig(directory, data: data, run: "run")
        c.loop.steps = 4
        try SFTTrainer(config: c).run()
        #expect(Checkpoint.steps(in: c.loop.output) == [2, 4])
        let fm = FileManager.default
        let root = c.loop.output + "/checkpoints", leftover = root + "/.step-2.delete"
        try fm.moveItem(atPath: Checkpoint.directory(run: c.loop.output, step: 2), toPath: leftover)
        try fm.removeItem(atPath: leftover + "/" + Checkpoint.stateFile)
        try Self.tear(leftover + "/" + Checkpoint.optimizerFile)

        #expect(Checkpoint.steps(in: c.loop.output) == [4])
        var more = c
        more.loop.steps = 6
        var warnings: [String] = []
        let resumed = try SFTTrainer(config: more, resume: true, warn: { warnings.append($0) })
        #expect(resumed.state.step == 4 && warnings.isEmpty, "\(warnings)")
        #expect(fm.fileExists(atPath: leftover), "nothing is removed before a save")
        try resumed.run(until: 5)
        #expect(fm.fileExists(atPath: leftover))
        try resumed.run()
        #expect(!fm.fileExists(atPath: leftover), "the save after step 6 removes the leftover")
        #expect(try fm.contentsOfDirectory(atPath: root).sorted() == ["step-4", "step-6"])
    }

    @Test func everyCheckpointCorruptRefusesToResume() throws {
        let (directory, data) = try SFTTrainerTests.scratch("ckpt-all")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = Self.checkpointConfig(directory, data: data, run: "run")
        c.loop.steps = 4
        try SFTTrainer(config: c).run()
        let torn = [2, 4].map { Checkpoint.directory(run: c.loop.output, step: $0) + "/" + Checkpoint.optimizerFile }
        for path in torn { try Self.tear(path) }

        var warnings: [String] = []
        do {
            _ = try SFTTrainer(config: c, resume: true, warn: { warnings.append($0) })
            Issue.record("resumed from corrupt checkpoints")
        } catch let error as TrainingError {
            guard case let .badCheckpoint(path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == c.loop.output + "/checkpoints")
            for file in torn { #expect("\(error)".contains(file), "\(error)") }
        }
        #expect(warnings.count == 2 && warnings[0].contains("step-4") && warnings[1].contains("step-2"), "\(warnings)")
    }
}
