import ArgumentParser
import Common
import Report

/// `text2grad report`: a train-policy run, or a directory of runs, as one self-contained report.html.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a train-policy run, or a comparison of runs, as one self-contained HTML page.",
        discussion: """
            RUN_DIR is a run (metrics.jsonl, samples.jsonl, config.yaml) or a directory with runs below it (up to \
            three levels, e.g. the demo's ppo-rm-token-seed0, ppo-builtin-scalar-seed1, ...), grouped by reward_mode \
            (and by reward source when there are several) with the mean and the min-max band over seeds per step. The page holds the reward, task-metric, KL and loss \
            curves, the reward model's evaluation (an rm-eval.json anywhere in the tree: eval-rm's summary), the \
            rollouts with each token shaded by its reward beside the critique, the same prompt before and after \
            training, and, with token and scalar runs, a verdict: the steps each took to first reach --target of \
            --metric (mean ± std over seeds). Inline CSS and SVG only: it opens offline, and reads without script.
            """)

    @Argument(help: ArgumentHelp("A train-policy run directory, or a directory with runs below it.",
                                 valueName: "RUN_DIR"))
    var runDirectory: String
    @Option(name: [.short, .long], help: "The page to write. (default: RUN_DIR/report.html)") var output: String?
    @Option(help: "The verdict's target of --metric.") var target: Double = 0.9
    @Option(help: "The verdict's metric. (default: eval/task_metric if every run has it, else objective/task_metric)")
    var metric: String?
    @Option(help: "Samples shown per reward mode from the last step.") var examples: Int = 3

    func validate() throws {
        if !target.isFinite { throw ValidationError("--target must be a number") }
        if examples < 0 || examples > 100 { throw ValidationError("--examples must be between 0 and 100") }
    }

    func run() throws {
        var options = ReportOptions()
        options.target = target
        options.verdictMetric = metric
        options.examples = examples
        let path = output ?? runDirectory + "/report.html"
        do {
            let data = try ReportData.load(path: runDirectory)
            try data.writeReport(to: path, options: options)
            note("report: \(data.runs.count) run\(data.runs.count == 1 ? "" : "s") in \(data.groups.count) "
                + "group\(data.groups.count == 1 ? "" : "s") → \(path)")
            if let verdict = data.verdict(options: options) { try StandardOutput.line(verdict.line) }
        } catch let error as ReportError {
            note("error: \(error)")
            throw Exit.failure
        } catch let error as FileError {
            note("error: \(error)")
            throw Exit.failure
        }
    }
}
