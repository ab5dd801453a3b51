import ArgumentParser
import Annotation
import CodeSandbox
import Common
import LLMClient
import Foundation
import Logging

/// `text2grad annotate`: a teacher LLM critiques each response and quotes its good and poor spans.
struct Annotate: AsyncParsableCommand {
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

    @Option(name: .long, help: "YAML config file; flags override its values.")
    var config: String?

    @Option(name: .long, help: "summarization, code, qa, or a custom task YAML file. (default: summarization)")
    var task: String?

    @Option(name: [.short, .long], help: "Input file.")
    var input: String?

    @Option(name: [.short, .long], help: "Output JSONL file.")
    var output: String?

    @Option(name: .long, help: "Failures side file. (default: <output>.failures.jsonl)")
    var failures: String?

    @Option(name: .long, help: "Endpoint base URL up to /v1. (default: $OPENAI_BASE_URL or OpenAI)")
    var baseURL: String?

    @Option(name: .long, help: "Teacher model. (default: gpt-4o-mini)")
    var model: String?

    @Option(name: .long, help: "API key. (default: $OPENAI_API_KEY; prefer the variable: flags show in ps)")
    var apiKey: String?

    @Option(name: .long, help: "Sampling temperature. (default: 0.3)")
    var temperature: Double?

    @Option(name: .long, help: "Nucleus sampling; not sent unless set.")
    var topP: Double?

    @Option(name: .long, help: "Completion token limit per request. (default: 1200)")
    var maxTokens: Int?

    @Option(name: [.short, .long], help: "Requests in flight at once. (default: 8)")
    var concurrency: Int?

    @Option(name: .long, help: "Retries per request on connection errors, 408/409/429/5xx. (default: 6)")
    var maxRetries: Int?

    @Option(name: .long, help: "Per-attempt timeout in seconds. (default: 120)")
    var timeout: Double?

    @Flag(inversion: .prefixedNo, help: "Request response_format json_object. (default: on)")
    var jsonMode: Bool?

    @Flag(inversion: .prefixedNo, help: "Ask once more when an answer cannot be parsed. (default: on)")
    var reask: Bool?

    @Option(name: .long, help: "Similarity a fuzzy span match needs. (default: 0.8)")
    var fuzzyThreshold: Double?

    @Option(name: .long, help: "Bad input lines: skip or fatal. (default: fatal)")
    var badLines: BadLinePolicy?

    @Option(name: .long, help: "Annotate at most this many pending items.")
    var limit: Int?

    @Option(name: .long, help: "Score of improvement_code spans (code task). (default: 0)")
    var improvementScore: Double?

    @Option(name: .long, help: "YAML price table {model: {input: $/1M, output: $/1M}} over the built-in one.")
    var priceTable: String?

    @Option(name: .long, help: "Wall-clock limit of a test run in seconds (code task). (default: 30)")
    var sandboxTimeout: Double?

    @Option(name: .long, help: "Python interpreter for test runs. (default: python3)")
    var python: String?

    @Option(name: .long, help: "Progress display: auto, bar, plain, none. (default: auto)")
    var progress: ProgressStyle?

    @Option(
        name: .long, help: "Stop if the first N items all fail with the same endpoint error; 0 never. (default: 10)")
    var abortAfter: Int?

    @Flag(name: .long, help: "Continue the output: skip ids it holds and ids that failed before.")
    var resume = false

    @Flag(name: .long, help: "Resume and also retry the ids in the failures file.")
    var retryFailed = false

    @Flag(name: .long, help: "Empty the output and failures files first.")
    var overwrite = false

    @Flag(name: .long, help: "Show the plan, the first prompt and a cost bound; send nothing, write nothing.")
    var dryRun = false

    func validate() throws {
        if overwrite && (resume || retryFailed) {
            throw ValidationError("--overwrite cannot be combined with --resume or --retry-failed")
        }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let maxRetries, maxRetries < 0 { throw ValidationError("--max-retries must be 0 or more") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if let fuzzyThreshold, !(fuzzyThreshold > 0 && fuzzyThreshold <= 1) {
            throw ValidationError("--fuzzy-threshold must be within (0, 1]")
        }
        if let config, !FileManager.default.fileExists(atPath: config) {
            throw ValidationError("config file \(config) does not exist")
        }
    }

    /// Defaults → environment → config file → flags.
    func resolvedConfig() throws -> AnnotateConfig {
        var o = ConfigOverrides()
        o.set("task", task); o.set("input", input); o.set("output", output); o.set("failures", failures)
        o.set("base_url", baseURL); o.set("model", model); o.set("temperature", temperature); o.set("top_p", topP)
        o.set("max_tokens", maxTokens); o.set("concurrency", concurrency); o.set("max_retries", maxRetries)
        o.set("timeout", timeout); o.set("json_mode", jsonMode); o.set("reask", reask)
        o.set("fuzzy_threshold", fuzzyThreshold); o.set("bad_lines", badLines?.rawValue); o.set("limit", limit)
        o.set("improvement_score", improvementScore); o.set("price_table", priceTable)
        o.set("progress", progress?.rawValue); o.set("abort_after", abortAfter)
        o.set("sandbox.wall_seconds", sandboxTimeout); o.set("sandbox.python", python)
        if resume { o.set("resume", true) }
        if retryFailed { o.set("retry_failed", true) }
        if overwrite { o.set("overwrite", true) }
        return try AnnotateConfig.resolve(path: config, flags: o, apiKey: apiKey)
    }

    func run() async throws {
        let resolved: AnnotateConfig
        do {
            resolved = try resolvedConfig()
        } catch let error as FeedbackError {
            throw ValidationError(error.description)
        } catch let error as FileError {
            throw ValidationError(error.description)
        }
        // Diagnostics go to stderr so stdout stays clean; no global LoggingSystem bootstrap from a subcommand.
        var logger = Logger(label: "text2grad.annotate") {
            RedactingLogHandler(wrapping: StreamLogHandler.standardError(label: $0), secret: resolved.apiKey)
        }
        logger.logLevel = .notice
        do {
            if dryRun {
                try StandardOutput.line(try AnnotationRun(config: resolved, logger: logger).dryRun())
                return
            }
            let summary = try await AnnotationRun(config: resolved, logger: logger).execute()
            try? FileHandle.standardError.write(contentsOf: Data((redact(summary.report, secret: resolved.apiKey) + "\n").utf8))
            if summary.failureCount > 0 {
                let hint = "failures are in \(resolved.failuresPath); rerun with --retry-failed to try them again\n"
                try? FileHandle.standardError.write(contentsOf: Data(hint.utf8))
                throw Exit.partial
            }
        } catch let error as FeedbackError {
            try? FileHandle.standardError.write(contentsOf: Data("error: \(redact("\(error)", secret: resolved.apiKey))\n".utf8))
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
