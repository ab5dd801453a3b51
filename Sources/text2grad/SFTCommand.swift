import ArgumentParser
import Foundation
import Training

/// `text2grad sft`: supervised fine-tuning (LoRA or full) on prompt/target pairs or chats.
struct SFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning with the model's chat template (LoRA or all parameters).",
        discussion: """
            Data: JSONL with {"prompt", "completion"}, {"messages": [...]} (loss on the last, assistant message) \
            or {"prompt_ids", "target_ids"}. The loss is on target tokens and the end-of-turn token only. \
            Settings: defaults, then --config YAML (snake_case keys), then flags; the resolved config is saved as \
            <output>/config.yaml beside metrics.jsonl and checkpoints/step-N/ directories (a PEFT adapter or a full \
            model, optimizer moments, data position and RNG). --resume continues from the newest checkpoint.
            """)

    @Option(help: "YAML config file; flags override its values.") var config: String?
    @Option(help: "Base model directory (Hugging Face layout).") var model: String?
    @Option(help: "Training JSONL.") var data: String?
    @Option(help: "Held-out JSONL (default: hold out --eval-fraction of the data).") var evalData: String?
    @Option(help: "Fraction held out when there is no --eval-data. (default: 0.1)") var evalFraction: Double?
    @Option(name: [.short, .long], help: "Run directory. (default: runs/sft)") var output: String?
    @Option(help: "Optimizer steps. (default: 100)") var steps: Int?
    @Option(help: "Sequences per micro-batch. (default: 4)") var batchSize: Int?
    @Option(help: "Micro-batches per optimizer step. (default: 1)") var gradientAccumulation: Int?
    @Option(help: "Tokens per example; longer ones are cut. (default: 512)") var maxLength: Int?
    @Option(help: "Peak learning rate. (default: 2e-4)") var learningRate: Double?
    @Option(help: "constant, linear or cosine. (default: cosine)") var schedule: String?
    @Option(help: "Linear warmup steps. (default: 0)") var warmupSteps: Int?
    @Option(help: "AdamW weight decay on matrices. (default: 0)") var weightDecay: Double?
    @Option(help: "Global gradient-norm clip, 0 for none. (default: 1)") var maxGradNorm: Double?
    @Option(help: "LoRA rank; 0 trains all parameters. (default: 16)") var loraRank: Int?
    @Option(help: "LoRA alpha. (default: 32)") var loraAlpha: Double?
    @Option(help: "LoRA dropout. (default: 0)") var loraDropout: Double?
    @Flag(help: "Scale LoRA by alpha/√r (rsLoRA).") var rslora = false
    @Option(help: "Comma-separated LoRA targets among q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj.") var loraTargets: String?
    @Option(help: "Random seed. (default: 0)") var seed: UInt64?
    @Option(help: "Steps between evaluations, 0 for the end only. (default: 0)") var evalEvery: Int?
    @Option(help: "Steps between checkpoints, 0 for the end only. (default: 0)") var saveEvery: Int?
    @Option(help: "Checkpoints kept. (default: 2)") var keepCheckpoints: Int?
    @Option(help: "Threads. (default: 2)") var threads: Int?
    @Flag(help: "Continue from the newest checkpoint in the run directory.") var resume = false
    @Option(help: .hidden) var stepDelay: Double = 0

    func validate() throws {
        if let schedule, LearningRateSchedule.Kind(rawValue: schedule) == nil {
            throw ValidationError("--schedule must be constant, linear or cosine")
        }
    }

    /// The configuration: file, then flags.
    func resolvedConfig() throws -> SFTConfig {
        var c = try config.map(SFTConfig.load(yaml:)) ?? SFTConfig()
        if let model { c.model = model }
        if let data { c.data = data }
        if let evalData { c.evalData = evalData }
        if let evalFraction { c.evalFraction = evalFraction }
        if let output { c.output = output }
        if let steps { c.steps = steps }
        if let batchSize { c.batchSize = batchSize }
        if let gradientAccumulation { c.gradientAccumulation = gradientAccumulation }
        if let maxLength { c.maxLength = maxLength }
        if let learningRate { c.learningRate = learningRate }
        if let schedule, let kind = LearningRateSchedule.Kind(rawValue: schedule) { c.schedule = kind }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let weightDecay { c.weightDecay = weightDecay }
        if let maxGradNorm { c.maxGradNorm = maxGradNorm }
        if let loraRank { c.loraRank = loraRank }
        if let loraAlpha { c.loraAlpha = loraAlpha }
        if let loraDropout { c.loraDropout = loraDropout }
        if rslora { c.loraRSLoRA = true }
        if let loraTargets { c.loraTargets = loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let seed { c.seed = seed }
        if let evalEvery { c.evalEvery = evalEvery }
        if let saveEvery { c.saveEvery = saveEvery }
        if let keepCheckpoints { c.keepCheckpoints = keepCheckpoints }
        if let threads { c.threads = threads }
        try c.validate()
        return c
    }

    func run() throws {
        let c = try resolvedConfig()
        let trainer = try SFTTrainer(config: c, resume: resume)
        trainer.stepDelay = stepDelay
        let progress = ProgressDisplay(total: c.steps)
        trainer.onStep = progress.show
        note("sft: \(trainer.train.count) training and \(trainer.eval.count) held-out examples, "
            + (c.lora.map { "LoRA r\($0.rank) on \($0.targetModules.map(\.rawValue).joined(separator: ","))" } ?? "all parameters")
            + (trainer.state.step > 0 ? ", resuming after step \(trainer.state.step)" : ""))
        do {
            try trainer.run()
        } catch let error as TrainingError {
            note("error: \(error)")
            throw ExitCode(3)
        }
        note("sft: done; checkpoints in \(c.output)")
    }
}
