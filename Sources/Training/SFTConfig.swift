import Common
import Foundation
import Models

/// Everything an SFT run needs (`text2grad sft`, `train-rm`): the model, LoRA, optimizer and loop groups and the
/// data; defaults, then YAML (snake_case keys, one flat mapping), then flags; saved resolved as `config.yaml` in
/// the run directory (see `RunConfiguration`).
public struct SFTConfig: RunConfiguration, Equatable {
    /// The base model and the engine's threads.
    public var model = ModelSettings()
    /// LoRA adapters (`lora_rank: 0` trains every parameter).
    public var lora = LoRASettings()
    /// AdamW and clipping.
    public var optimizer = OptimizerSettings()
    /// Steps, batch, schedule, checkpoints, seed and the run directory.
    public var loop = TrainingLoopSettings()
    /// Training JSONL: {"prompt", "completion"} text pairs, {"messages": [...]} chats, or {"prompt_ids", "target_ids"}.
    public var data: String = ""
    /// Held-out JSONL; when absent, `evalFraction` of the training data is held out.
    public var evalData: String?
    /// The fraction of `data` held out when there is no `evalData`.
    public var evalFraction: Double = 0.1
    /// Micro-batches per optimizer step (each of `batch_size` sequences).
    public var gradientAccumulation: Int = 1
    /// Tokens per example; longer examples are cut at the end.
    public var maxLength: Int = 512
    /// train-rm only: the reward model's answer format (`sft` refuses it; train-rm records critique+spans when
    /// unset).
    public var target: RewardTarget?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case model, lora, optimizer, loop, data, evalData = "eval_data", evalFraction = "eval_fraction"
        case gradientAccumulation = "gradient_accumulation", maxLength = "max_length", target
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.model, ModelSettings.self), (.lora, LoRASettings.self), (.optimizer, OptimizerSettings.self),
         (.loop, TrainingLoopSettings.self)]
    }

    /// Every field at its default.
    public init() {}

    /// Reads a YAML file over the defaults (not validated); an unknown key is an error.
    public static func load(yaml path: String) throws -> SFTConfig {
        let text: String
        do {
            text = try InputFile.text(path: path)
        } catch FileError.io(_, let detail) {
            throw TrainingError.badConfig(path: path, reason: detail)
        }
        do {
            return try ConfigFile.decode(SFTConfig.self, yaml: text, source: path)
        } catch let FileError.badConfig(_, detail) {
            throw TrainingError.badConfig(path: path, reason: detail)
        }
    }

    /// The resolved configuration as YAML.
    public func yaml() throws -> String { try ConfigFile.yaml(self) }

    /// Checks ranges; throws naming the field.
    public func validate() throws {
        func fail(_ reason: String) -> Error { TrainingError.badConfig(path: "config", reason: reason) }
        try model.validate(fail)
        if data.isEmpty { throw fail("'data' is required") }
        for (key, value) in [("gradient_accumulation", gradientAccumulation), ("max_length", maxLength)]
        where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        if !(0..<1).contains(evalFraction) { throw fail("'eval_fraction' must be in [0, 1)") }
        try optimizer.validate(fail)
        try loop.validate(fail)
        try lora.validate(fail)
    }

    /// The loop's settings.
    public var loopSettings: LoopSettings { loop.settings(optimizer) }
}
