import ArgumentParser
import Common
import Foundation
import Training

/// `text2grad sft`: supervised fine-tuning (LoRA or full) on prompt/target pairs or chats.
struct SFT: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning with the model's chat template (LoRA or all parameters).",
        discussion: """
            Data: JSONL with {"prompt", "completion"}, {"messages": [...]} (loss on the last, assistant message) \
            or {"prompt_ids", "target_ids"}. The loss is on target tokens and the end-of-turn token only. \
            Settings: defaults (runs/sft, LoRA r 16, alpha 32 on q/k/v/o), then --config YAML (snake_case keys), \
            then flags; the resolved config is saved as <output>/config.yaml beside metrics.jsonl and \
            checkpoints/step-N/ directories (a PEFT adapter or a full model, optimizer moments, data position and \
            RNG). --resume continues from the newest readable checkpoint.
            """)

    @OptionGroup var training: TrainingOptions<SFT>
    @Option(help: "Training JSONL.") var data: String?
    @Option(help: "Held-out JSONL (default: hold out --eval-fraction of the data).") var evalData: String?

    /// The configuration: defaults, then the file, then flags.
    func resolvedConfig() throws -> SFTConfig {
        try training.resolve { c in
            c.override(\.data, data)
            c.override(\.evalData, evalData)
            if let target = c.target {
                throw FileError.badConfig(source: training.file.config ?? "sft", detail: "'target: \(target.rawValue)' "
                                          + "is a train-rm setting (the reward model's answer format), not sft's")
            }
        }
    }

    func run() throws {
        try distributed { reducer in
            let c = try resolvedConfig()
            let trainer = try SFTTrainer(config: c, resume: training.resume, reducer: reducer, warn: { note("sft: " + $0) })
            note("sft: \(trainer.train.count) training and \(trainer.eval.count) held-out examples, "
            + (c.lora.config.map { "LoRA r\($0.rank) on \($0.targetModules.map(\.rawValue).joined(separator: ","))" }
               ?? "all parameters")
            + (trainer.state.step > 0 ? ", resuming after step \(trainer.state.step)" : ""))
            try training.train(trainer, name: "sft", reducer: reducer)
        }
    }
}
