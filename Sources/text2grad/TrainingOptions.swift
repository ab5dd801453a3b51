import ArgumentParser
import Common
import Distributed
import Tensor
import Training

/// The flags `sft` and `train-rm` share: the model, LoRA, optimizer and loop mirrors over their `SFTConfig`, and
/// `--resume`.
struct TrainingOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config == SFTConfig {
    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Model") var model: ModelOptions<Command>
    @OptionGroup(title: "LoRA") var lora: LoRAOptions<Command>
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions<Command>
    @OptionGroup(title: "Loop") var loop: LoopOptions<Command>
    @Option(help: ArgumentHelp("Fraction held out when there is no held-out file."
                               + Command.defaultNote(\.evalFraction)))
    var evalFraction: Double?
    @Option(help: ArgumentHelp("Micro-batches per optimizer step." + Command.defaultNote(\.gradientAccumulation)))
    var gradientAccumulation: Int?
    @Option(help: ArgumentHelp("Tokens per example; longer ones are cut." + Command.defaultNote(\.maxLength)))
    var maxLength: Int?
    @Flag(help: "Continue from the newest checkpoint in the run directory.") var resume = false
    @Option(help: .hidden) var stepDelay: Double = 0

    /// Defaults, then `--config`, then these flags and the command's own (`more`).
    func resolve(_ more: (inout SFTConfig) throws -> Void) throws -> SFTConfig {
        try Command.resolve(file: file.config) { c in
            model.apply(to: &c)
            lora.apply(to: &c)
            optimizer.apply(to: &c)
            loop.apply(to: &c)
            c.override(\.evalFraction, evalFraction)
            c.override(\.gradientAccumulation, gradientAccumulation)
            c.override(\.maxLength, maxLength)
            try more(&c)
        }
    }

    /// Runs a trainer with the progress line (rank 0's), turning a training error into exit code 3.
    func train(_ trainer: SFTTrainer, name: String, reducer: GradientReducer) throws {
        trainer.stepDelay = stepDelay
        announce(name, reducer: reducer, threads: trainer.config.model.threads)
        trainer.loop.progress = reducer.rank == 0
            ? ProgressReporter(total: trainer.config.loop.steps, style: .auto, interval: 10, unit: "steps") : nil
        do {
            try trainer.run()
            trainer.loop.progress?.finish()
        } catch let error as TrainingError {
            trainer.loop.progress?.finish()
            note("error: \(error)")
            throw Exit.interrupted
        }
        note("\(name): done; checkpoints in \(trainer.config.loop.output)")
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
