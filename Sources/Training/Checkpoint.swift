import Foundation
import Models
import SafeTensors
import Tensor

/// What a checkpoint records besides tensors: enough to continue exactly where the run stopped.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps completed.
    public var step: Int = 0
    public var cursor = DataCursor()
    /// The generator of per-micro-batch dropout seeds.
    public var rng = SplitMix64(seed: 0)
}

/// A checkpoint directory `checkpoints/step-<step>` of a run: the trained weights (a PEFT adapter, or a full model directory),
/// an optional value head, the optimizer moments and `trainer_state.json`.
///
/// Written to `checkpoints/.step-<step>.tmp` and renamed, so a crash leaves either the old or the new checkpoint whole.
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

    /// Writes a checkpoint and keeps only the newest `keep`.
    public static func save(
        runDirectory: String, state: TrainerState, model: LlamaModel, modelDirectory: String, valueHead: ValueHead?,
        optimizer: AdamW, keep: Int
    ) throws {
        let fm = FileManager.default
        let final = directory(run: runDirectory, step: state.step)
        let temporary = runDirectory + "/checkpoints/.step-\(state.step).tmp"
        do {
            try? fm.removeItem(atPath: temporary)
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            if let adapter = model.adapter {
                try adapter.save(directory: temporary, baseModel: modelDirectory)
            } else {
                try model.weights.save(directory: temporary)
                try fm.copyItem(atPath: modelDirectory + "/config.json", toPath: temporary + "/config.json")
            }
            try valueHead?.save(directory: temporary)
            var entries: [SafeTensorsWriter.Entry] = []
            for (prefix, arena) in [("m.", optimizer.m), ("v.", optimizer.v)] {
                for (name, tensor) in arena.tensors() {
                    entries.append(.init(name: prefix + name, shape: tensor.shape, values: UnsafeBufferPointer(tensor.buffer)))
                }
            }
            try SafeTensorsWriter.write(entries, metadata: ["adamw_step": "\(optimizer.step)"], to: temporary + "/" + optimizerFile)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(state).write(to: URL(fileURLWithPath: temporary + "/" + stateFile))
            try? fm.removeItem(atPath: final)
            try fm.moveItem(atPath: temporary, toPath: final)
        } catch {
            throw TrainingError.cannotWrite(path: temporary, reason: "\(error)")
        }
        for old in steps(in: runDirectory).dropLast(keep) {
            try? fm.removeItem(atPath: directory(run: runDirectory, step: old))
        }
    }

    /// Restores the trained weights, value head and optimizer from `directory`; returns the trainer state.
    public static func load(
        directory: String, model: LlamaModel, valueHead: ValueHead?, optimizer: AdamW
    ) throws -> TrainerState {
        do {
            if let adapter = model.adapter {
                let saved = try LoRAAdapter.load(directory: directory, config: model.config)
                guard saved.config.rank == adapter.config.rank, saved.config.targetModules == adapter.config.targetModules else {
                    throw TrainingError.badCheckpoint(path: directory, reason: "the adapter does not match the run's LoRA settings")
                }
                adapter.arena.data.update(from: saved.arena.data, count: saved.arena.count)
            } else {
                try model.weights.load(from: SafeTensorsCheckpoint(directory: directory))
            }
            if let valueHead {
                let saved = try ValueHead.load(directory: directory, hiddenSize: valueHead.hiddenSize)
                valueHead.arena.data.update(from: saved.arena.data, count: saved.arena.count)
            }
            let file = try SafeTensorsFile(path: directory + "/" + optimizerFile)
            for (prefix, arena) in [("m.", optimizer.m), ("v.", optimizer.v)] {
                for (name, tensor) in arena.tensors() { try file.read(prefix + name, into: tensor.data, count: tensor.count) }
            }
            guard let step = file.metadata["adamw_step"].flatMap(Int.init) else {
                throw TrainingError.badCheckpoint(path: directory, reason: "optimizer.safetensors lacks adamw_step")
            }
            optimizer.step = step
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + stateFile))
            return try JSONDecoder().decode(TrainerState.self, from: data)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.badCheckpoint(path: directory, reason: "\(error)")
        }
    }
}
