import AsyncHTTPClient
import Foundation
import Generation
import Hummingbird
import Logging
import Models
import NIOCore
import NIOHTTP1
import Server
import Testing
import Tokenizers

/// The chat model fixture (scripts/make_generation_fixtures.py), loaded once per process.
enum Fixtures {
    static let chatModelDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/chat-smollm").path

    static let chat: (model: LlamaModel, tokenizer: Tokenizer) = {
        let model = try! LlamaModel(directory: chatModelDirectory)
        let tokenizer = try! Tokenizer.load(directory: URL(fileURLWithPath: chatModelDirectory))
        return (model, tokenizer)
    }()
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// `serve` in-process on a free 127.0.0.1 port with the fixture model, and an HTTP client for it.
final class ServerHarness: Sendable {
    let scheduler: GenerationScheduler
    let port: Int
    let client: HTTPClient
    private let task: Task<Void, Error>
    static let modelName = "chat-smollm"

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    private init(scheduler: GenerationScheduler, port: Int, task: Task<Void, Error>) {
        self.scheduler = scheduler
        self.port = port
        self.task = task
        // The process-wide client needs no shutdown: a test that throws before `stop()` fails instead of
        // crashing the test process in HTTPClient's deinit.
        client = HTTPClient.shared
    }

    /// Starts a server; `configure` adjusts its settings (API key, body limit).
    static func start(
        maxBatchSize: Int = 8, maxQueuedSequences: Int = 256, tokenizer: Tokenizer = Fixtures.chat.tokenizer,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> ServerHarness {
        let generator = Generator(model: Fixtures.chat.model, tokenizer: tokenizer)
        let scheduler = GenerationScheduler(generator: generator, maxBatchSize: maxBatchSize, maxQueuedSequences: maxQueuedSequences,
                                            gatherDelay: 0.02)
        scheduler.start()
        var settings = ServerConfiguration(modelName: modelName)
        settings.port = 0
        configure(&settings)
        var logger = Logger(label: "serve-test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let backend = ModelBackend(service: scheduler, tokenizer: tokenizer,
                                   contextLength: Fixtures.chat.model.config.maxPositionEmbeddings,
                                   vocabSize: Fixtures.chat.model.config.vocabSize)
        let server = OpenAIServer(configuration: settings, backend: backend, logger: logger)
        let bound = PortBox()
        let app = server.application { port in bound.set(port) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for _ in 0..<1000 {
            if let port = bound.get() { return ServerHarness(scheduler: scheduler, port: port, task: task) }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        task.cancel()
        throw HarnessError(description: "the server did not start within 10 s")
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        scheduler.shutdown()
    }

    /// POSTs a JSON body (or raw bytes) and returns status, headers and the whole body; `using` sends it through
    /// another client (one with more connections than the harness's 8).
    func post(_ path: String, json: [String: Any]? = nil, raw: Data? = nil, key: String? = nil,
              using other: HTTPClient? = nil) async throws -> (status: Int, body: Data)
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let data = try raw ?? JSONSerialization.data(withJSONObject: json ?? [:])
        request.body = .bytes(ByteBuffer(data: data))
        let response = try await (other ?? client).execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), Data(buffer: body))
    }

    func get(_ path: String, key: String? = nil) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await client.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}

// Unchecked Sendable: its port is read and written under its lock.
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    func set(_ value: Int) { lock.withLock { port = value } }
    func get() -> Int? { lock.withLock { port } }
}

/// The body as a JSON object (a test failure when it is not one).
func object(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        Issue.record("not a JSON object: \(String(decoding: data.prefix(300), as: UTF8.self))", sourceLocation: sourceLocation)
        return [:]
    }
    return object
}

/// The `data:` payloads of a server-sent-events body, in order.
func events(_ data: Data) -> [String] {
    String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
        let line = block.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.hasPrefix("data: ") ? String(line.dropFirst(6)) : nil
    }
}

/// Checks the OpenAI error shape: {"error": {"message": String, "type": String, "param", "code"}}.
func expectError(_ data: Data, type: String? = nil, param: String? = nil, code: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let error = object(data, sourceLocation: sourceLocation)["error"] as? [String: Any]
    #expect(error != nil, sourceLocation: sourceLocation)
    guard let error else { return }
    #expect(error["message"] is String, sourceLocation: sourceLocation)
    #expect(error.keys.contains("param") && error.keys.contains("code") && error["type"] is String, sourceLocation: sourceLocation)
    if let type { #expect(error["type"] as? String == type, sourceLocation: sourceLocation) }
    if let param { #expect(error["param"] as? String == param, sourceLocation: sourceLocation) }
    if let code { #expect(error["code"] as? String == code, sourceLocation: sourceLocation) }
}
