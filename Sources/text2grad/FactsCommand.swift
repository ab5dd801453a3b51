import ArgumentParser
import FactSummaries
import Foundation

/// `text2grad facts`: writes the built-in fact-summary task's data (no network, reproducible from a seed).
struct Facts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the built-in fact-summary task: posts, reference and imperfect summaries, SFT data, a corpus.",
        discussion: """
            Files in OUT: \(FactTask.files.map { "\($0.name) (\($0.holds))" }.joined(separator: "; ")).
            The same options write byte-identical files. Annotate the task data with the built-in teacher:
            'text2grad serve --teacher builtin' and 'text2grad annotate --task summarization -i OUT/train.jsonl
            --base-url http://127.0.0.1:8080/v1 --model builtin-teacher'.
            """)

    @Option(name: [.short, .long], help: "Output directory.")
    var output: String

    @Option(help: "Items in the train split.")
    var train = 2000

    @Option(help: "Items in the eval split.")
    var eval = 200

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 0

    func validate() throws {
        for (name, value) in [("train", train), ("eval", eval)] where !(0...1_000_000).contains(value) {
            throw ValidationError("--\(name) must lie in 0...1000000")
        }
    }

    func run() throws {
        var options = FactTaskOptions()
        options.trainCount = train
        options.evalCount = eval
        options.seed = seed
        let start = Date()
        let counts = try FactTask.write(options: options, to: output)
        let seconds = Date().timeIntervalSince(start)
        let files = FactTask.files.map { "\($0.name) \(counts[$0.name] ?? 0)" }.joined(separator: ", ")
        note("wrote \(files) lines to \(output) in \(String(format: "%.2f", seconds)) s")
    }
}
