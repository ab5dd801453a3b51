import ArgumentParser
import Foundation
import Generation
import Hummingbird
import FactSummaries
import Logging
import Models
import Server
import Tensor
import Tokenizers

/// `text2grad serve`: the model behind an OpenAI-compatible HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over the OpenAI API (/v1/models, /v1/chat/completions, /v1/completions).",
        discussion: """
            Binds 127.0.0.1 unless --host says otherwise. With --api-key (or the TEXT2GRAD_API_KEY environment
            variable) every request needs 'Authorization: Bearer <key>'. Concurrent requests are queued and
            generated together in batches of up to --max-batch sequences. With --teacher builtin (and no
            --model) it serves the built-in fact-summary task's rule-based teacher instead of a model, so
            'annotate --task summarization' runs against it with no network and no key.
            """)

    @OptionGroup var modelOptions: ChatModelOptions

    @Option(help: "Serve a rule-based teacher instead of a model: 'builtin' (the fact-summary task's).")
    var teacher: String?

    @Option(help: "With --teacher builtin: at most this many quotes per label, 0 for every right fact and every problem (default: 2, as the summarization prompt asks).")
    var maxQuotes = 2

    @Option(help: "The model id clients send (default: the directory's name, or 'builtin-teacher').")
    var modelName: String?

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    var port = 8080

    @Option(help: "Require this API key (prefer the TEXT2GRAD_API_KEY environment variable: flags show in ps).")
    var apiKey: String?

    @Option(help: "Sequences generated together at most.")
    var maxBatch = 8

    @Option(help: "Waiting sequences beyond which requests get 503.")
    var maxQueue = 256

    @Option(help: "Largest request body in bytes (413 beyond).")
    var maxBodyBytes = 1 << 20

    @Option(help: "max_tokens when a request gives none.")
    var defaultMaxTokens = 256

    @Option(help: "Threads for matrix products and kernels.")
    var threads: Int = Compute.defaultThreadCount

    func validate() throws {
        for (name, value) in [("max-batch", maxBatch), ("max-queue", maxQueue), ("max-body-bytes", maxBodyBytes),
                              ("default-max-tokens", defaultMaxTokens), ("threads", threads)] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        if let teacher {
            guard teacher == "builtin" else { throw ValidationError("--teacher must be 'builtin', got '\(teacher)'") }
            guard maxQuotes >= 0 else { throw ValidationError("--max-quotes must be ≥ 0") }
            guard modelOptions.model == nil, modelOptions.adapter == nil else {
                throw ValidationError("--teacher serves no model: drop --model and --adapter")
            }
        } else if modelOptions.model == nil {
            throw ValidationError("give --model DIR (or --teacher builtin)")
        }
    }

    /// The settings both kinds of server share.
    func serverSettings(name: String) -> ServerConfiguration {
        var settings = ServerConfiguration(modelName: name)
        settings.host = host
        settings.port = port
        let environmentKey = ProcessInfo.processInfo.environment["TEXT2GRAD_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        settings.apiKey = apiKey ?? environmentKey
        settings.maxBodyBytes = maxBodyBytes
        settings.defaultMaxTokens = defaultMaxTokens
        return settings
    }

    func run() async throws {
        Compute.useThreads(threads)
        var logger = Logger(label: "text2grad.serve")
        logger.logLevel = .warning
        if teacher != nil {
            let settings = serverSettings(name: modelName ?? "builtin-teacher")
            let keyNote = settings.apiKey == nil ? "no API key" : "API key required"
            let teacher = FactTeacher(options: TeacherOptions(maxQuotes: maxQuotes))
            let server = ResponderServer(configuration: settings, responder: BuiltinTeacher(teacher: teacher),
                                         logger: logger)
            let app = server.application { port in
                note("serving the built-in teacher as '\(settings.modelName)' on "
                    + "http://\(settings.host):\(port)/v1 (\(keyNote))")
            }
            try await app.runService()
            return
        }
        let (lm, tokenizer) = try modelOptions.load()
        let scheduler = GenerationScheduler(generator: Generator(model: lm, tokenizer: tokenizer), maxBatchSize: maxBatch,
                                            maxQueuedSequences: maxQueue)
        scheduler.start()
        defer { scheduler.shutdown() }
        let directory = URL(fileURLWithPath: modelOptions.model ?? "model").standardizedFileURL
        let name = modelName ?? directory.lastPathComponent
        let settings = serverSettings(name: name)
        let server = OpenAIServer(configuration: settings, service: scheduler, tokenizer: tokenizer,
                                  contextLength: lm.config.maxPositionEmbeddings, vocabSize: lm.config.vocabSize,
                                  logger: logger)
        let keyNote = settings.apiKey == nil ? "no API key" : "API key required"
        let address = settings.host
        let app = server.application { port in
            note("serving '\(name)' on http://\(address):\(port)/v1 (\(keyNote))")
        }
        try await app.runService()
    }
}
