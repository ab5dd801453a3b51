import AsyncHTTPClient
import FactSummaries
import Annotation
import Foundation
import Hummingbird
import Logging
import NIOCore
import Server
import Tasks
import Testing

/// `serve --teacher builtin` in-process on a free 127.0.0.1 port, with an HTTP client for it.
final class TeacherHarness: Sendable {
    let port: Int
    /// Needs no shutdown, so a test that throws before `stop()` fails rather than crashing in the deinit.
    let client = HTTPClient.shared
    private let task: Task<Void, Error>
    static let modelName = "builtin-teacher"
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    private init(port: Int, task: Task<Void, Error>) {
        self.port = port
        self.task = task
    }

    /// Starts a server; `configure` adjusts its settings (body limit, connection guards).
    static func start(apiKey: String? = nil, configure: (inout ServerConfiguration) -> Void = { _ in })
        async throws -> TeacherHarness
    {
        var settings = ServerConfiguration(modelName: modelName)
        settings.port = 0
        settings.apiKey = apiKey
        configure(&settings)
        var logger = Logger(label: "teacher-test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let bound = PortBox()
        let app = OpenAIServer(configuration: settings, backend: ResponderBackend(responder: BuiltinTeacher()),
                               logger: logger).application { port in bound.set(port) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for _ in 0..<1000 {
            if let port = bound.get() { return TeacherHarness(port: port, task: task) }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        task.cancel()
        throw HarnessError(description: "the teacher server did not start within 10 s")
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    func post(_ json: [String: Any], key: String? = nil) async throws -> (status: Int, body: Data) {
        try await post(raw: JSONSerialization.data(withJSONObject: json), key: key)
    }

    func get(_ path: String) async throws -> (status: Int, body: Data) {
        let response = try await client.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(30))
        return (Int(response.status.code), Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// POSTs `raw` bytes to `path` (under /v1).
    func post(raw: Data, path: String = "/chat/completions", key: String? = nil) async throws
        -> (status: Int, body: Data)
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(data: raw))
        let response = try await client.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}

/// `annotate` runs unchanged against the built-in teacher, and the endpoint speaks the chat API.
@Suite struct TeacherServeTests {
    @Test("annotate against serve --teacher builtin: a record per item, spans exactly where the teacher put them")
    func annotateAgainstTeacher() async throws {
        let key = "sk-teacher-test"
        let server = try await TeacherHarness.start(apiKey: key)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = FactTaskOptions()
        options.trainCount = 24
        options.evalCount = 0
        options.seed = 3
        try FactTask.write(options: options, to: directory.path)
        // One post that is not the task's: the teacher refuses it in plain text.
        let input = directory.appendingPathComponent("train.jsonl").path
        let foreign = #"{"id": "foreign", "prompt": "My landlord raised the rent. Help?", "response": "Rent went up."}"#
        let lines = try String(contentsOfFile: input, encoding: .utf8) + foreign + "\n"
        try lines.write(toFile: input, atomically: true, encoding: .utf8)

        var config = AnnotateConfig(environment: [:])
        config.input = input
        config.output = directory.appendingPathComponent("annotations.jsonl").path
        config.endpoint.baseURL = server.baseURL
        config.endpoint.apiKey = key
        config.endpoint.model = TeacherHarness.modelName
        config.endpoint.concurrency = 4
        config.endpoint.maxRetries = 1
        config.progress = .none
        var logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let summary = try await AnnotationRun(config: config, logger: logger).execute()
        await server.stop()

        #expect(summary.records == 24 && summary.failures == ["parse": 1])
        #expect(summary.unmatchedRate == 0 && summary.spans == summary.matches[.exact])
        #expect(summary.usage.promptTokens > 0 && summary.usage.completionTokens > 0)
        let items = try FactTask.items(.train, options: options)
        let records = try String(contentsOfFile: config.output, encoding: .utf8).split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(records.count == 24)
        let teacher = FactTeacher()
        for record in records {
            let item = try #require(items.first { $0.id == record["id"] as? String })
            let review = teacher.review(item.post.facts, summary: item.imperfect.text)
            #expect(record["critique"] as? String == review.critique)
            let spans = record["spans"] as? [[String: Any]] ?? []
            let expected = review.good.map { ("good_spans", $0.range) } + review.poor.map { ("poor_spans", $0.range) }
            #expect(spans.count == expected.count)
            for (span, (label, range)) in zip(spans, expected) {
                #expect(span["label"] as? String == label && span["match"] as? String == "exact")
                #expect(span["start"] as? Int == range.lowerBound && span["end"] as? Int == range.upperBound)
            }
        }
        let failures = try String(contentsOfFile: config.failuresPath, encoding: .utf8)
        #expect(failures.contains("foreign") && failures.contains("built-in teacher"))
    }

    @Test("the endpoint: models, whole and streamed answers, max_tokens, refusals and errors in OpenAI's shape")
    func chatAPI() async throws {
        let server = try await TeacherHarness.start(apiKey: "k")
        let item = try FactTask.item(.train, index: 0, options: FactTaskOptions())
        let messages = try SummarizationTask().messages(
            for: TaskItem(id: item.id, prompt: item.post.text, response: item.imperfect.text), execution: nil)
            .map { ["role": $0.role, "content": $0.content] }
        let expected = FactTeacher().review(item.post.facts, summary: item.imperfect.text).json
        let body: [String: Any] = ["model": TeacherHarness.modelName, "messages": messages,
                                   "response_format": ["type": "json_object"], "temperature": 0.3]

        let whole = try await server.post(body, key: "k")
        #expect(whole.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: whole.body) as? [String: Any])
        let choice = try #require((object["choices"] as? [[String: Any]])?.first)
        let message = choice["message"] as? [String: Any]
        #expect(message?["content"] as? String == expected && message?["refusal"] is NSNull)
        #expect(choice["finish_reason"] as? String == "stop")
        let usage = object["usage"] as? [String: Int] ?? [:]
        #expect((usage["prompt_tokens"] ?? 0) > 100 && usage["completion_tokens"] == ApproximateTokens.count(expected))

        var streamed = body
        streamed["stream"] = true
        streamed["stream_options"] = ["include_usage": true]
        let sse = try await server.post(streamed, key: "k")
        let chunks = events(sse.body)
        #expect(chunks.last == "[DONE]")
        let text = chunks.dropLast().compactMap { chunk -> String? in
            let object = (try? JSONSerialization.jsonObject(with: Data(chunk.utf8))) as? [String: Any]
            let delta = (object?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
            return delta?["content"] as? String
        }.joined()
        #expect(text == expected)

        var short = body
        short["max_tokens"] = 5
        let cutBody = try await server.post(short, key: "k").body
        let cut = try #require(try JSONSerialization.jsonObject(with: cutBody) as? [String: Any])
        let cutChoice = (cut["choices"] as? [[String: Any]])?.first
        #expect(cutChoice?["finish_reason"] as? String == "length")
        let cutText = (cutChoice?["message"] as? [String: Any])?["content"] as? String
        #expect(cutText.map { expected.hasPrefix($0) && $0.count < expected.count } == true)

        let refused = try await server.post(["messages": [["role": "user", "content": "hi"]]], key: "k")
        let refusal = (((try JSONSerialization.jsonObject(with: refused.body) as? [String: Any])?["choices"]
            as? [[String: Any]])?.first?["message"] as? [String: Any])?["refusal"] as? String
        #expect(refused.status == 200 && refusal?.contains("built-in teacher") == true)

        #expect(try await server.post(body).status == 401)
        var wrongModel = body
        wrongModel["model"] = "gpt-4o"
        let notFound = try await server.post(wrongModel, key: "k")
        #expect(notFound.status == 404)
        expectError(notFound.body, param: "model", code: "model_not_found")
        var logprobs = body
        logprobs["logprobs"] = true
        let bad = try await server.post(logprobs, key: "k")
        #expect(bad.status == 400)
        expectError(bad.body, type: "invalid_request_error", param: "logprobs")
        let empty = try await server.post(["messages": [Any]()], key: "k")
        #expect(empty.status == 400)
        await server.stop()
    }

    @Test("approximate token counts: words, numbers and marks; a cut keeps whole pieces")
    func approximateTokens() {
        #expect(ApproximateTokens.count("Ana, a 29-year-old nurse.") == 10)
        #expect(ApproximateTokens.count("") == 0)
        #expect(ApproximateTokens.prefix("{\"a\": [\"b c\"]}", tokens: 4) == ("{\"a\"", true))
        #expect(ApproximateTokens.prefix("one two", tokens: 9) == ("one two", false))
    }
}
