import ArgumentParser
import Common
import Distributed
import Tensor
import Training

/// The flags every training command shares (`sft`, `train-rm`), each overriding one YAML key of `SFTConfig`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML config file (snake_case keys); flags override its values.") var config: String?
    @Option(help: "Base model directory (Hugging Face layout).") var model: String?
    @Option(help: "Fraction held out when there is no held-out file. (default: 0.1)") var evalFraction: Double?
    @Option(name: [.short, .long], help: "Run directory.") var output: String?
    @Option(help: "Optimizer steps. (default: 100)") var steps: Int?
    @Option(help: "Sequences per micro-batch. (default: 4)") var batchSize: Int?
    @Option(help: "Micro-batches per optimizer step. (default: 1)") var gradientAccumulation: Int?
    @Option(help: "Tokens per example; longer ones are cut. (default: 512)") var maxLength: Int?
    @Option(help: "Peak learning rate. (default: 2e-4)") var learningRate: Double?
    @Option(help: "constant, linear or cosine. (default: cosine)") var schedule: String?
    @Option(help: "Linear warmup steps. (default: 0)") var warmupSteps: Int?
    @Option(help: "AdamW weight decay on matrices. (default: 0)") var weightDecay: Double?
    @Option(help: "Global gradient-norm clip, 0 for none. (default: 1)") var maxGradNorm: Double?
    @Option(help: "LoRA rank; 0 trains all parameters.") var loraRank: Int?
    @Option(help: "LoRA alpha.") var loraAlpha: Double?
    @Option(help: "LoRA dropout. (default: 0)") var loraDropout: Double?
    @Flag(help: "Scale LoRA by alpha/√r (rsLoRA).") var rslora = false
    @Option(help: "Comma-separated LoRA targets among q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj.") var loraTargets: String?
    @Option(help: "Products with the frozen base under LoRA: fp32, or bf16 (rounded operands, fp32 sums).")
    var basePrecision: ProductPrecision?
    @Option(help: "Random seed. (default: 0)") var seed: UInt64?
    @Option(help: "Steps between evaluations, 0 for the end only. (default: 0)") var evalEvery: Int?
    @Option(help: "Steps between checkpoints, 0 for the end only. (default: 0)") var saveEvery: Int?
    @Option(help: "Checkpoints kept. (default: 2)") var keepCheckpoints: Int?
    @Option(help: "Engine threads. (default: the machine's cores)") var threads: Int?
    @Flag(help: "Continue from the newest checkpoint in the run directory.") var resume = false
    @Option(help: .hidden) var stepDelay: Double = 0

    func validate() throws {
        if let schedule, LearningRateSchedule.Kind(rawValue: schedule) == nil {
            throw ValidationError("--schedule must be constant, linear or cosine")
        }
    }

    /// The flags as overrides of the YAML keys.
    var overrides: ConfigOverrides {
        var o = ConfigOverrides()
        o.set("model", model); o.set("eval_fraction", evalFraction); o.set("output", output); o.set("steps", steps)
        o.set("batch_size", batchSize); o.set("gradient_accumulation", gradientAccumulation); o.set("max_length", maxLength)
        o.set("learning_rate", learningRate); o.set("schedule", schedule); o.set("warmup_steps", warmupSteps)
        o.set("weight_decay", weightDecay); o.set("max_grad_norm", maxGradNorm); o.set("lora_rank", loraRank)
        o.set("lora_alpha", loraAlpha); o.set("lora_dropout", loraDropout); o.set("lora_rslora", rslora ? true : nil)
        o.setList("lora_targets", loraTargets); o.set("base_precision", basePrecision?.rawValue)
        o.set("seed", seed); o.set("eval_every", evalEvery)
        o.set("save_every", saveEvery); o.set("keep_checkpoints", keepCheckpoints); o.set("threads", threads)
        return o
    }

    /// Runs a trainer with the progress line (rank 0's), turning a training error into exit code 3.
    func train(_ trainer: SFTTrainer, name: String, reducer: GradientReducer) throws {
        trainer.stepDelay = stepDelay
        announce(name, reducer: reducer, threads: trainer.config.threads)
        trainer.loop.progress = reducer.rank == 0
            ? ProgressReporter(total: trainer.config.steps, style: .auto, interval: 10, unit: "steps") : nil
        do {
            try trainer.run()
            trainer.loop.progress?.finish()
        } catch let error as TrainingError {
            trainer.loop.progress?.finish()
            note("error: \(error)")
            throw Exit.interrupted
        }
        note("\(name): done; checkpoints in \(trainer.config.output)")
    }
}

/// Runs a training command as one rank of a data-parallel job when a launcher (`mpirun`, `srun`) started it,
/// else as one process; only rank 0 speaks.
func distributed(_ body: (GradientReducer) throws -> Void) throws {
    try Distributed.run { reducer in
        noteRank = reducer.rank
        try body(reducer)
    }
}

/// Says how a data-parallel run is spread.
func announce(_ name: String, reducer: GradientReducer, threads: Int) {
    if reducer.worldSize > 1 {
        note("\(name): data parallel over \(reducer.worldSize) ranks, \(threads) engine thread(s) each; rank 0 writes the run")
    }
}
