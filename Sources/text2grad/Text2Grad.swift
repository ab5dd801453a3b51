import ArgumentParser

/// The `text2grad` command: one subcommand per file, each building a configuration and calling the library.
@main
struct Text2Grad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text2grad",
        abstract: "Train language models from natural-language feedback (Text2Grad).",
        subcommands: [
            Score.self, Tokenize.self, Annotate.self, SFT.self, TrainRM.self, Critique.self, EvalRM.self, TrainPolicy.self,
            MergeLoRA.self,
            Generate.self, Serve.self, Eval.self, Bench.self, DemoCommand.self, Facts.self, TrainTokenizer.self,
            InitModel.self,
        ]
    )
}
