import ArgumentParser
import Common
import FactSummaries
import Foundation

/// `text2grad eval facts`: the built-in task's fact accuracy of generated summaries, with the mistakes behind it.
struct EvalFacts: ParsableCommand {
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

    @Option(help: "Summaries to check (JSONL).")
    var predictions: String

    @Option(help: "Task data whose \"prompt\" (the post) each prediction's \"id\" is looked up in.")
    var task: String?

    func run() throws {
        do {
            var posts: [String: String] = [:]
            if let task {
                for line in try JSONLines.read(path: task) {
                    guard let id = line.object["id"] as? String, let post = line.object["prompt"] as? String else {
                        throw FileError.badLine(path: task, line: line.number, detail: "needs string fields \"id\" and \"prompt\"")
                    }
                    posts[id] = post
                }
            }
            var tally = FactTally()
            for line in try JSONLines.read(path: predictions) {
                let object = line.object
                guard let summary = ["response", "prediction", "completion", "text"].lazy.compactMap({ object[$0] as? String }).first else {
                    throw FileError.badLine(path: predictions, line: line.number,
                                            detail: "needs the summary in a string \"response\", \"prediction\", \"completion\" or \"text\"")
                }
                let post = (object["id"] as? String).flatMap { posts[$0] } ?? object["prompt"] as? String
                guard let post else {
                    throw FileError.badLine(path: predictions, line: line.number,
                                            detail: "needs the post in \"prompt\" or an \"id\" found in --task")
                }
                tally.add(post: post, summary: summary)
            }
            printJSON([
                "summaries": tally.summaries, "unreadable_posts": tally.unreadable, "fact_accuracy": tally.meanAccuracy,
                "perfect": tally.perfect, "mistakes_per_summary": tally.mistakesPerSummary,
            ])
        } catch let error as FileError {
            note("error: \(error)")
            throw ExitCode(1)
        }
    }
}
