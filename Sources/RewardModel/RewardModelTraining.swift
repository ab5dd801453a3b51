import Foundation
import Spans
import Tokenizers
import Training

/// `text2grad train-rm` as a library call: the SFT loop on reward-model pairs made from annotation records
/// (`config.data`; held out: `config.evalData`, else the ids `RewardModelData.isHeldOut` picks), loss on the
/// target JSON (in `config.target`'s format) and the end-of-turn token only. Every checkpoint carries
/// `reward_model.json` (`RewardModelInfo`), so the critic reads the answers in the format they were taught.
public enum RewardModelTraining {
    /// The reward model's defaults where they differ from SFT's: the authors' LoRA (r 16, alpha 32 on q/v) and
    /// its own run directory.
    public static var defaults: SFTConfig {
        var c = SFTConfig()
        c.loop.output = "runs/rm"
        c.lora.targets = ["q_proj", "v_proj"]
        return c
    }

    /// What the data held: examples and the spans that had to be dropped.
    public struct DataSummary: Sendable, Equatable {
        public var train = 0, eval = 0, droppedSpans = 0, spans = 0
    }

    /// A trainer over the annotation records of `config.data`; `summary` receives the data counts.
    public static func trainer(
        config: SFTConfig, resume: Bool, reducer: GradientReducer = LocalReducer(), warn: @escaping (String) -> Void = { _ in },
        summary: ((DataSummary) -> Void)? = nil
    ) throws -> SFTTrainer {
        var info: RewardModelInfo?
        let trainer = try SFTTrainer(config: config, resume: resume, reducer: reducer, examples: { tokenizer in
            guard let tokenizer else {
                throw RewardModelError.badRecord(path: config.model.path, line: 0,
                                                 detail: "the model has no tokenizer.json")
            }
            // In id order: annotation writes records as their requests finish, so the same annotations can come in
            // another order, and the reward model should train the same from the same records.
            let all = try RewardModelData.records(path: config.data).sorted { $0.id < $1.id }
            var format = try RewardModelData.format(of: all, path: config.data)
            format.target = config.target ?? .critiqueSpans
            try format.validate()
            info = RewardModelInfo(task: format.task, target: format.target)
            let (train, eval): ([AnnotationRecord], [AnnotationRecord])
            if let evalPath = config.evalData {
                (train, eval) = (all, try RewardModelData.records(path: evalPath))
            } else {
                train = all.filter { !RewardModelData.isHeldOut($0.id, fraction: config.evalFraction) }
                eval = all.filter { RewardModelData.isHeldOut($0.id, fraction: config.evalFraction) }
            }
            let a = try RewardModelData.examples(train, format: format, tokenizer: tokenizer, maxLength: config.maxLength)
            let b = try RewardModelData.examples(eval, format: format, tokenizer: tokenizer, maxLength: config.maxLength)
            let droppedIds = a.droppedIds + b.droppedIds
            if !droppedIds.isEmpty {
                let first = droppedIds.prefix(5).joined(separator: ", ") + (droppedIds.count > 5 ? ", …" : "")
                warn("\(droppedIds.count) record\(droppedIds.count == 1 ? "" : "s") of \(config.data) dropped: the prompt alone "
                     + "reaches max_length \(config.maxLength) (ids \(first))")
            }
            if a.examples.isEmpty {
                throw TrainingError.emptyData(path: config.data, reason: droppedIds.isEmpty ? "no training examples"
                                              : "no training examples: every prompt alone reaches max_length \(config.maxLength)")
            }
            summary?(DataSummary(train: a.examples.count, eval: b.examples.count, droppedSpans: a.droppedSpans + b.droppedSpans,
                                 spans: (train + eval).reduce(0) { $0 + $1.spans.count }))
            return (a.examples, b.examples)
        }, warn: warn)
        if let info { trainer.objective.trainable.descriptionFiles[RewardModelInfo.fileName] = try info.json() }
        return trainer
    }
}
