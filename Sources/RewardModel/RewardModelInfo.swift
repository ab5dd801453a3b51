import Common
import Foundation

/// What `train-rm` saves beside a reward model's weights (`reward_model.json` in every checkpoint, carried along by
/// `merge-lora`), so whoever loads the model asks and reads it in the format it learned.
public struct RewardModelInfo: Codable, Sendable, Equatable {
    /// The file's name in a model or adapter directory.
    public static let fileName = "reward_model.json"

    /// The task whose labels it quotes.
    public var task: String
    /// What its answer holds.
    public var target: RewardTarget

    public init(task: String, target: RewardTarget) {
        self.task = task
        self.target = target
    }

    /// The description as the file holds it.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// The description saved in `directory`; nil when there is none (a reward model trained before targets were
    /// saved answers critique+spans). A file that does not read is an error naming it.
    public static func load(directory: String) throws -> RewardModelInfo? {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(RewardModelInfo.self, from: Data(InputFile.text(path: path).utf8))
        } catch let error as FileError {
            throw error
        } catch {
            throw FileError.badConfig(source: path, detail: "not a reward-model description (task, target): \(error)")
        }
    }

    /// The format a critic uses with the reward model in `directories` (its adapter first, then the model; the
    /// first description found counts): `format` with the saved target, or with `requested` when nothing is
    /// saved. A request that disagrees with the saved target or task is an error naming both.
    public static func format(
        _ format: RewardModelFormat, directories: [String], requested: RewardTarget?
    ) throws -> RewardModelFormat {
        var saved: (info: RewardModelInfo, directory: String)?
        for directory in directories where saved == nil {
            if let info = try load(directory: directory) { saved = (info, directory) }
        }
        var result = format
        if let (info, directory) = saved {
            if let requested, requested != info.target {
                throw FileError.badConfig(source: directory + "/" + fileName, detail: "the reward model writes "
                                          + "'\(info.target.rawValue)', not the requested '\(requested.rawValue)'")
            }
            if info.task != format.task {
                throw FileError.badConfig(source: directory + "/" + fileName, detail: "the reward model critiques task "
                                          + "'\(info.task)', not '\(format.task)' (set --task \(info.task))")
            }
            result.target = info.target
        } else {
            result.target = requested ?? .critiqueSpans
        }
        try result.validate()
        return result
    }
}
