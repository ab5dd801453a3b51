import ArgumentParser
import Common
import FactSummaries
import Foundation

/// `text2grad eval facts`: the built-in task's fact accuracy of generated summaries, with the mistakes behind it.
struct EvalFacts: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "facts",
        abstract: "Fact accuracy of summaries of the built-in task's posts, and their mistakes by kind.",
        discussion: """
            --predictions is JSONL with the summary in "response", "prediction", "completion" (what 'generate \
            --input' writes) or "text", and either the post (or the policy prompt holding it) in "prompt", or an "id" found in \
            --task (the task's train.jsonl or eval.jsonl). Prints one JSON object: mean fact accuracy, perfect \
            summaries, and per summary the wrong values (or values the post never gives), vague phrases, \
            repetitions and omissions.
            """)

    @OptionGroup var file: ConfigFileOption

    @Option(help: "Summaries to check (JSONL).")
    var predictions: String?

    @Option(help: "Task data whose \"prompt\" (the post) each prediction's \"id\" is looked up in.")
    var task: String?

    func resolvedConfig() throws -> EvalFactsConfig {
        try Self.resolve(file: file.config) { c in
            c.override(\.predictions, predictions)
            c.override(\.task, task)
        }
    }

    func run() throws {
        do {
            let c = try resolvedConfig()
            var tally = FactTally()
            for prediction in try FactPredictions.read(path: c.predictions, task: c.task) {
                tally.add(post: prediction.post, summary: prediction.summary)
            }
            try printJSON(tally.summary)
        } catch let error as FileError {
            note("error: \(error)")
            throw Exit.failure
        }
    }
}
