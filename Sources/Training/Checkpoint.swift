import Common
import Foundation
import Models
import SafeTensors
import Tensor

/// What `trainer_state.json` holds besides tensors: the step and the objective's own state (data cursors,
/// RNG streams, a KL coefficient), enough to continue exactly where the run stopped.
public struct CheckpointState<Objective: Codable>: Codable {
    /// Optimizer steps (loop steps) completed.
    public var step: Int
    /// The objective's state after that step.
    public var objective: Objective
}

/// A checkpoint directory `checkpoints/step-<step>` of a run: the trained weights of every group (a PEFT
/// adapter or a full model directory, `value_head.safetensors`), every group's AdamW moments in
/// `optimizer.safetensors`, and `trainer_state.json`.
///
/// Crash safety:
/// 1. a checkpoint is written to `checkpoints/.step-<step>.tmp` and renamed, so a crash leaves the old or the new
///    one whole;
/// 2. pruning renames an old checkpoint to `.step-<step>.delete` before removing it, so a kill mid-removal never
///    leaves a partial `step-N` (leftovers are removed by the next save);
/// 3. resuming falls back from an unreadable newest checkpoint to the previous good one, and says so.
public enum Checkpoint {
    static let stateFile = "trainer_state.json"
    static let optimizerFile = "optimizer.safetensors"

    /// The directory of the checkpoint after `step` in a run directory.
    public static func directory(run: String, step: Int) -> String { run + "/checkpoints/step-\(step)" }

    /// Steps of the complete checkpoints in `runDirectory`, ascending (temporary directories are not listed).
    public static func steps(in runDirectory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory + "/checkpoints")) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("step-") else { return nil }
            return Int(name.dropFirst("step-".count))
        }.sorted()
    }

    /// Writes a checkpoint after `step` and keeps only the newest `keep`.
    public static func save<State: Codable>(
        runDirectory: String, step: Int, trainable: TrainableModel, state: State, keep: Int
    ) throws {
        let fm = FileManager.default
        let root = runDirectory + "/checkpoints"
        let final = directory(run: runDirectory, step: step)
        let temporary = root + "/.step-\(step).tmp"
        do {
            try? fm.removeItem(atPath: temporary)
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            try trainable.saveWeights(directory: temporary)
            var entries: [SafeTensorsWriter.Entry] = []
            var metadata: [String: String] = [:]
            for group in trainable.groups {
                metadata[group.name + ".adamw_step"] = "\(group.optimizer.step)"
                for (prefix, arena) in [("m.", group.optimizer.m), ("v.", group.optimizer.v)] {
                    for (name, tensor) in arena.tensors() {
                        entries.append(.init(name: group.name + "." + prefix + name, shape: tensor.shape,
                                             values: UnsafeBufferPointer(tensor.buffer)))
                    }
                }
            }
            try SafeTensorsWriter.write(entries, metadata: metadata, to: temporary + "/" + optimizerFile)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(CheckpointState(step: step, objective: state))
                .write(to: URL(fileURLWithPath: temporary + "/" + stateFile))
            if fm.fileExists(atPath: final) { try retire(final, root: root, step: step) }
            try fm.moveItem(atPath: temporary, toPath: final)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.cannotWrite(path: temporary, reason: writeFailure(error))
        }
        for old in steps(in: runDirectory).dropLast(keep) {
            try? retire(directory(run: runDirectory, step: old), root: root, step: old)
        }
        // Leftovers of a kill during an earlier prune.
        for name in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where name.hasSuffix(".delete") {
            try? fm.removeItem(atPath: root + "/" + name)
        }
    }

    /// Renames a checkpoint out of the listing, then removes it.
    static func retire(_ path: String, root: String, step: Int) throws {
        let doomed = root + "/.step-\(step).delete"
        try? FileManager.default.removeItem(atPath: doomed)
        try FileManager.default.moveItem(atPath: path, toPath: doomed)
        try? FileManager.default.removeItem(atPath: doomed)
    }

    /// Restores every group's tensors and moments from `directory`; returns the step and the objective's state.
    public static func load<State: Codable>(
        directory: String, trainable: TrainableModel, as type: State.Type
    ) throws -> CheckpointState<State> {
        do {
            try trainable.loadWeights(directory: directory)
            let file = try SafeTensorsFile(path: directory + "/" + optimizerFile)
            for group in trainable.groups {
                for (prefix, arena) in [("m.", group.optimizer.m), ("v.", group.optimizer.v)] {
                    for (name, tensor) in arena.tensors() {
                        try file.read(group.name + "." + prefix + name, into: tensor.data, count: tensor.count)
                    }
                }
                guard let step = file.metadata[group.name + ".adamw_step"].flatMap(Int.init), step >= 0 else {
                    throw TrainingError.badCheckpoint(
                        path: directory + "/" + optimizerFile, reason: "no '\(group.name).adamw_step' in its metadata")
                }
                group.optimizer.step = step
            }
            let statePath = directory + "/" + stateFile
            guard let data = FileManager.default.contents(atPath: statePath) else {
                throw TrainingError.badCheckpoint(path: statePath, reason: "missing or unreadable")
            }
            do {
                return try JSONDecoder().decode(CheckpointState<State>.self, from: data)
            } catch {
                throw TrainingError.badCheckpoint(path: statePath, reason: "\(error)")
            }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.badCheckpoint(path: directory, reason: "\(error)")
        }
    }

    /// Loads the newest checkpoint of `runDirectory` that reads back whole, newest first; `warn` hears about each
    /// one skipped. Returns nil when the run has none (a fresh start); throws when every one is unreadable.
    public static func loadNewest<State: Codable>(
        runDirectory: String, trainable: TrainableModel, as type: State.Type, warn: (String) -> Void
    ) throws -> CheckpointState<State>? {
        let available = steps(in: runDirectory)
        var failures: [String] = []
        for step in available.reversed() {
            do {
                return try load(directory: directory(run: runDirectory, step: step), trainable: trainable, as: type)
            } catch {
                failures.append("\(error)")
                warn("checkpoint step-\(step) cannot be read (\(error)); trying the one before")
            }
        }
        guard available.isEmpty else {
            throw TrainingError.badCheckpoint(path: runDirectory + "/checkpoints",
                                              reason: "no checkpoint reads back: " + failures.joined(separator: "; "))
        }
        return nil
    }
}
