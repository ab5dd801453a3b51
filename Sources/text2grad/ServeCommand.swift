import ArgumentParser
import Common
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
struct Serve: AsyncParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over the OpenAI API (/v1/models, /v1/chat/completions, /v1/completions).",
        discussion: """
            Binds 127.0.0.1 unless --host says otherwise. With --api-key (or the TEXT2GRAD_API_KEY environment
            variable) every request needs 'Authorization: Bearer <key>'. Concurrent requests are queued and
            generated together in batches of up to --max-batch sequences. With --teacher builtin (and no
            --model) it serves the built-in fact-summary task's rule-based teacher instead of a model, so
            'annotate --task summarization' runs against it with no network and no key.
            """)

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Model") var model: ModelOptions<Serve>
    @OptionGroup(title: "Decoding") var decoding: DecodingOptions<Serve>
    @Option(help: "A LoRA adapter directory (PEFT format) to apply.") var adapter: String?
    @Option(help: "Serve a rule-based teacher instead of a model.") var teacher: ServedTeacher?
    @Option(help: ArgumentHelp("With --teacher builtin: at most this many quotes per label, 0 for every right fact and "
                               + "every problem (2 is what the summarization prompt asks for)."
                               + Self.defaultNote(\.maxQuotes)))
    var maxQuotes: Int?
    @Option(help: "The model id clients send (default: the directory's name, or 'builtin-teacher').")
    var modelName: String?
    @Option(help: ArgumentHelp("Address to bind." + Self.defaultNote(\.host))) var host: String?
    @Option(help: ArgumentHelp("Port to listen on (0: any free port, printed at start)." + Self.defaultNote(\.port)))
    var port: Int?
    @Option(help: "Require this API key (prefer the TEXT2GRAD_API_KEY environment variable: flags show in ps).")
    var apiKey: String?
    @Option(help: ArgumentHelp("Sequences generated together at most." + Self.defaultNote(\.maxBatch)))
    var maxBatch: Int?
    @Option(help: ArgumentHelp("Waiting sequences beyond which requests get 503." + Self.defaultNote(\.maxQueue)))
    var maxQueue: Int?
    @Option(help: ArgumentHelp("Largest request body in bytes (413 beyond)." + Self.defaultNote(\.maxBodyBytes)))
    var maxBodyBytes: Int?
    @Option(help: ArgumentHelp("The response budget of a request that gives no max_tokens."
                               + Self.defaultNote(\.maxNewTokens)))
    var maxNewTokens: Int?
    @Option(name: .customLong("default-max-tokens"), help: .hidden) var defaultMaxTokens: Int?

    func resolvedConfig() throws -> ServeConfig {
        let base = ServeConfig(environment: ProcessInfo.processInfo.environment)
        return try Self.resolve(base: base, file: file.config) { c in
            c.apiKey = base.apiKey
            model.apply(to: &c)
            decoding.apply(to: &c)
            c.override(\.adapter, adapter)
            c.override(\.teacher, teacher)
            c.override(\.maxQuotes, maxQuotes)
            c.override(\.modelName, modelName)
            c.override(\.host, host)
            c.override(\.port, port)
            c.override(\.apiKey, apiKey)
            c.override(\.maxBatch, maxBatch)
            c.override(\.maxQueue, maxQueue)
            c.override(\.maxBodyBytes, maxBodyBytes)
            c.override(\.maxNewTokens, maxNewTokens ?? defaultMaxTokens)
        }
    }

    func validate() throws {
        if teacher != nil, model.model != nil || adapter != nil {
            throw ValidationError("--teacher serves no model: drop --model and --adapter")
        }
    }

    func run() async throws {
        let c = try resolvedConfig()
        Compute.useThreads(c.model.threads)
        var logger = Logger(label: "text2grad.serve")
        logger.logLevel = .warning
        let keyNote = c.apiKey == nil ? "no API key" : "API key required"
        if c.teacher != nil {
            let settings = c.server(name: c.modelName ?? "builtin-teacher")
            let teacher = FactTeacher(options: TeacherOptions(maxQuotes: c.maxQuotes))
            let backend = ResponderBackend(responder: BuiltinTeacher(teacher: teacher))
            let server = OpenAIServer(configuration: settings, backend: backend, logger: logger)
            let app = server.application { port in
                note("serving the built-in teacher as '\(settings.modelName)' on "
                    + "http://\(settings.host):\(port)/v1 (\(keyNote))")
            }
            try await app.runService()
            return
        }
        let (lm, tokenizer) = try LocalModel.load(model: c.model.path, adapter: c.adapter, weights: c.decoding.weights)
        let scheduler = GenerationScheduler(generator: Generator(model: lm, tokenizer: tokenizer),
                                            maxBatchSize: c.maxBatch, maxQueuedSequences: c.maxQueue)
        scheduler.start()
        defer { scheduler.shutdown() }
        let name = c.modelName ?? URL(fileURLWithPath: c.model.path).standardizedFileURL.lastPathComponent
        let settings = c.server(name: name)
        let backend = ModelBackend(service: scheduler, tokenizer: tokenizer,
                                   contextLength: lm.config.maxPositionEmbeddings, vocabSize: lm.config.vocabSize)
        let server = OpenAIServer(configuration: settings, backend: backend, logger: logger)
        let address = settings.host
        let app = server.application { port in
            note("serving '\(name)' on http://\(address):\(port)/v1 (\(keyNote))")
        }
        try await app.runService()
    }
}

extension ServedTeacher: ExpressibleByArgument {}
