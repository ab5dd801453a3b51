import ArgumentParser
import Foundation

/// The `text2grad` command: one subcommand per file, each building a configuration and calling the library.
@main
struct Text2Grad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text2grad",
        abstract: "Train language models from natural-language feedback (Text2Grad).",
        subcommands: [
            Score.self, Tokenize.self, Annotate.self, SFT.self, TrainRM.self, Critique.self, EvalRM.self, TrainPolicy.self,
            MergeLoRA.self, ReportCommand.self,
            Generate.self, Serve.self, Eval.self, Bench.self, DemoCommand.self, Facts.self, TrainTokenizer.self,
            InitModel.self, Convert.self,
        ]
    )

    /// Parses and runs a command after `ModelArguments` has turned GGUF files given as models into directories.
    static func main() async {
        do {
            let arguments = try ModelArguments.resolvingGGUF(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
