import ArgumentParser
import Annotation
import CodeSandbox
import Common
import Foundation
import Logging
import Tasks

/// `text2grad annotate`: a teacher LLM critiques each response and quotes its good and poor spans.
struct Annotate: AsyncParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Annotate responses with a teacher LLM's critique and aligned spans (stage 1).",
        discussion: """
            Reads task data (JSONL, a JSON list, or a JSON object keyed by id), asks an OpenAI-compatible \
            endpoint for a critique and verbatim good/poor spans of each response, aligns the spans to \
            character offsets, and appends one record per id to the output JSONL. Failures go to a side \
            file. Settings come from defaults, then OPENAI_BASE_URL / OPENAI_API_KEY, then --config, then \
            flags. Exit status: 0 all items annotated, 2 finished with failures, 1 error.
            """)

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Teacher endpoint") var endpoint: EndpointOptions<Annotate>
    @OptionGroup(title: "Sandbox (code task)") var sandbox: SandboxOptions<Annotate>

    @Option(help: ArgumentHelp("summarization, code, qa, or a custom task YAML file." + Self.defaultNote(\.task)))
    var task: String?

    @Option(name: [.short, .long], help: "Input file.")
    var input: String?

    @Option(name: [.short, .long], help: "Output JSONL file.")
    var output: String?

    @Option(help: "Failures side file. (default: <output>.failures.jsonl)")
    var failures: String?

    @Option(help: ArgumentHelp("Sampling temperature." + Self.defaultNote(\.temperature)))
    var temperature: Double?

    @Option(help: "Nucleus sampling; not sent unless set.")
    var topP: Double?

    @Option(help: ArgumentHelp("The response budget: completion tokens at most per request."
                               + Self.defaultNote(\.maxNewTokens)))
    var maxNewTokens: Int?

    @Option(name: .customLong("max-tokens"), help: .hidden)
    var maxTokens: Int?

    @Flag(inversion: .prefixedNo, help: "Ask once more when an answer cannot be parsed. (default: on)")
    var reask: Bool?

    @Option(help: ArgumentHelp("Similarity a fuzzy span match needs." + Self.defaultNote(\.fuzzyThreshold)))
    var fuzzyThreshold: Double?

    @Option(help: ArgumentHelp("Bad input lines: skip or fatal." + Self.defaultNote(\.badLines)))
    var badLines: BadLinePolicy?

    @Option(help: "Annotate at most this many pending items.")
    var limit: Int?

    @Option(help: ArgumentHelp("Score of improvement_code spans (code task)." + Self.defaultNote(\.improvementScore)))
    var improvementScore: Double?

    @Option(help: "YAML price table {model: {input: $/1M, output: $/1M}} over the built-in one.")
    var priceTable: String?

    @Option(help: ArgumentHelp("Progress display." + Self.defaultNote(\.progress)))
    var progress: ProgressStyle?

    @Option(help: ArgumentHelp("Stop if the first N items all fail with the same endpoint error; 0 never."
                               + Self.defaultNote(\.abortAfter)))
    var abortAfter: Int?

    @Flag(help: "Continue the output: skip ids it holds and ids that failed before.")
    var resume = false

    @Flag(help: "Resume and also retry the ids in the failures file.")
    var retryFailed = false

    @Flag(help: "Empty the output and failures files first.")
    var overwrite = false

    @Flag(help: "Show the plan, the first prompt and a cost bound; send nothing, write nothing.")
    var dryRun = false

    func validate() throws {
        if overwrite && (resume || retryFailed) {
            throw ValidationError("--overwrite cannot be combined with --resume or --retry-failed")
        }
        if let config = file.config, !FileManager.default.fileExists(atPath: config) {
            throw ValidationError("config file \(config) does not exist")
        }
    }

    /// Defaults → environment → config file → flags.
    func resolvedConfig() throws -> AnnotateConfig {
        try AnnotateConfig.resolve(path: file.config) { c in
            endpoint.apply(to: &c)
            sandbox.apply(to: &c)
            c.override(\.task, task)
            c.override(\.input, input)
            c.override(\.output, output)
            c.override(\.failures, failures)
            c.override(\.temperature, temperature)
            c.override(\.topP, topP)
            c.override(\.maxNewTokens, maxNewTokens ?? maxTokens)
            c.override(\.reask, reask)
            c.override(\.fuzzyThreshold, fuzzyThreshold)
            c.override(\.badLines, badLines)
            c.override(\.limit, limit)
            c.override(\.improvementScore, improvementScore)
            c.override(\.priceTable, priceTable)
            c.override(\.progress, progress)
            c.override(\.abortAfter, abortAfter)
            if resume { c.resume = true }
            if retryFailed { c.retryFailed = true }
            if overwrite { c.overwrite = true }
        }
    }

    func run() async throws {
        let resolved: AnnotateConfig
        do {
            resolved = try resolvedConfig()
        } catch let error as AnnotationError {
            throw ValidationError(error.description)
        } catch let error as FileError {
            throw ValidationError(error.description)
        }
        // Diagnostics go to stderr so stdout stays clean; no global LoggingSystem bootstrap from a subcommand.
        let key = resolved.endpoint.apiKey
        var logger = Logger(label: "text2grad.annotate") {
            RedactingLogHandler(wrapping: StreamLogHandler.standardError(label: $0), secret: key)
        }
        logger.logLevel = .notice
        do {
            if dryRun {
                try StandardOutput.line(try AnnotationRun(config: resolved, logger: logger).dryRun())
                return
            }
            let summary = try await AnnotationRun(config: resolved, logger: logger).execute()
            try? FileHandle.standardError.write(contentsOf: Data((redact(summary.report, secret: key) + "\n").utf8))
            if summary.failureCount > 0 {
                let hint = "failures are in \(resolved.failuresPath); rerun with --retry-failed to try them again\n"
                try? FileHandle.standardError.write(contentsOf: Data(hint.utf8))
                throw Exit.partial
            }
        } catch let error as AnnotationError {
            try? FileHandle.standardError.write(contentsOf: Data("error: \(redact("\(error)", secret: key))\n".utf8))
            throw Exit.failure
        } catch let error as FileError {
            try? FileHandle.standardError.write(contentsOf: Data("error: \(error)\n".utf8))
            throw Exit.failure
        } catch let error as SandboxError {
            try? FileHandle.standardError.write(contentsOf: Data("error: \(error)\n".utf8))
            throw Exit.failure
        }
    }
}

extension BadLinePolicy: ExpressibleByArgument {}
extension ProgressStyle: ExpressibleByArgument {}
