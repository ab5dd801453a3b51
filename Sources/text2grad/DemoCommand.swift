import ArgumentParser
import Common
import Demo
import Foundation
import Report

extension DemoSize: ExpressibleByArgument {}

/// `text2grad demo`: the whole Text2Grad pipeline on the built-in task, on a CPU, with nothing downloaded.
struct DemoCommand: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline on the built-in task: data, a tiny model, SFT, annotation, reward model, PPO.",
        discussion: """
            Stages, each in its own folder of --out and kept when a previous run with the same options finished it: \
            data, base (the pretrained 1.8M-parameter model shipped with the tool, or --base), policy (SFT on \
            imperfect summaries), annotations (the policy's samples critiqued by the teacher through the annotate \
            run), rm (the generative reward model and its held-out evaluation), then PPO with token-level and with \
            scalar rewards from the same policy, same seeds and budget, rewarded by the trained reward model. Prints \
            a one-line verdict: steps to reach the target fact accuracy on held-out posts (the base's minus a margin).
            """)

    @OptionGroup var file: ConfigFileOption
    @Option(help: ArgumentHelp("PPO seeds per reward mode." + Self.defaultNote(\.seeds))) var seeds: Int?
    @Flag(help: "One seed, smaller sizes, every stage (about two minutes): --size quick.") var quick = false
    @Option(help: ArgumentHelp("full, quick or smoke (the smallest sizes that run every stage)."
                               + Self.defaultNote(\.size)))
    var size: DemoSize?
    @Option(name: [.short, .long], help: ArgumentHelp("Run directory." + Self.defaultNote(\.output)))
    var output: String?
    @Option(name: .customLong("out"), help: .hidden) var out: String?
    @Option(help: "An OpenAI-compatible teacher (base URL up to /v1) instead of the built-in one.") var teacherURL: String?
    @Option(help: ArgumentHelp("The model name sent to --teacher-url." + Self.defaultNote(\.teacherModel)))
    var teacherModel: String?
    @Option(help: "Held-out fact accuracy the verdict counts steps to (default: the base's minus --target-margin).")
    var target: Double?
    @Option(help: ArgumentHelp("The default target's margin below the base's held-out fact accuracy."
                               + Self.defaultNote(\.targetMargin)))
    var targetMargin: Double?
    @Option(help: "A pretrained base model directory instead of the one shipped with the tool.") var base: String?
    @Option(help: "Engine threads. (default: the machine's cores)") var threads: Int?
    @Option(help: "Make the demo's pretrained base model into this directory (what scripts/make-demo-base.sh runs) instead of running the demo.")
    var makeBase: String?
    @Option(help: "With --make-base: training steps of each phase (default: the recipe's; a smaller base for trying it).")
    var baseSteps: Int?
    @Option(help: "With --make-base: posts to learn from (default: the recipe's).") var basePosts: Int?

    func validate() throws {
        if let baseSteps, baseSteps < 1 { throw ValidationError("--base-steps must be positive") }
        if let basePosts, basePosts < 1 { throw ValidationError("--base-posts must be positive") }
    }

    func resolvedConfig() throws -> DemoOptions {
        try Self.resolve(file: file.config) { c in
            c.override(\.seeds, seeds)
            if quick { c.size = .quick }
            c.override(\.size, size)
            c.override(\.output, output ?? out)
            c.override(\.teacherURL, teacherURL)
            c.override(\.teacherModel, teacherModel)
            c.override(\.target, target)
            c.override(\.targetMargin, targetMargin)
            c.override(\.base, base)
            c.override(\.threads, threads)
        }
    }

    func run() throws {
        let options = try resolvedConfig()
        if let makeBase {
            var recipe = DemoBaseRecipe()
            if let baseSteps { (recipe.steps, recipe.critiqueSteps) = (baseSteps, baseSteps) }
            if let basePosts { (recipe.posts, recipe.critiquePosts) = (basePosts, min(basePosts, recipe.critiquePosts)) }
            try DemoBase.make(recipe: recipe, output: makeBase, threads: options.threads,
                              log: { note("demo base: " + $0) })
            return
        }
        let out = options.output
        let started = Date()
        let outcome = try DemoPipeline(options: options, log: { note("demo " + $0) }).run()
        var reportOptions = ReportOptions()
        reportOptions.target = options.target ?? outcome.target
        let data = try ReportData.load(path: out)
        try data.writeReport(to: out + "/report.html", options: reportOptions)
        note(String(format: "demo: finished in %.0f s; the report is %@/report.html", Date().timeIntervalSince(started), out))
        if let verdict = data.verdict(options: reportOptions) { try StandardOutput.line(verdict.line) }
    }
}
