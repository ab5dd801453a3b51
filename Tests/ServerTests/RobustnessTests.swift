import AsyncHTTPClient
import Foundation
import Generation
import NIOCore
import Server
import Testing

/// Concurrency, bad input, keys, overload and disconnecting clients; the server keeps answering after each.
@Suite(.serialized) struct RobustnessTests {
    func request(_ text: String, maxTokens: Int = 12) -> [String: Any] {
        ["model": ServerHarness.modelName, "temperature": 0, "max_tokens": maxTokens,
         "messages": [["role": "user", "content": text]]]
    }

    func content(_ data: Data) -> String? {
        ((object(data)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
    }

    @Test("32 concurrent requests are batched and each gets the answer it gets alone")
    func concurrentRequests() async throws {
        let server = try await ServerHarness.start()
        let prompts = (0..<32).map { "Question number \($0): what is \($0 * 7)?" }
        var alone: [String] = []
        for prompt in prompts.prefix(4) {
            alone.append(content(try await server.post("/chat/completions", json: request(prompt)).body) ?? "?")
        }
        let batchesBefore = server.scheduler.statistics.batches
        let answers = try await withThrowingTaskGroup(of: (Int, Int, String?).self) { group in
            for (i, prompt) in prompts.enumerated() {
                group.addTask {
                    let (status, body) = try await server.post("/chat/completions", json: request(prompt))
                    return (i, status, content(body))
                }
            }
            var answers = [(Int, String?)](repeating: (0, nil), count: 32)
            for try await (i, status, text) in group { answers[i] = (status, text) }
            return answers
        }
        let stats = server.scheduler.statistics
        await server.stop()
        #expect(answers.allSatisfy { $0.0 == 200 && $0.1 != nil })
        #expect(Array(answers.prefix(4).map { $0.1 ?? "" }) == alone, "greedy answers do not depend on the batch")
        #expect(stats.largestBatch > 1, "concurrent requests share batches")
        #expect(stats.batches - batchesBefore < 32)
    }

    @Test("malformed, mistyped and oversized bodies get 400 and 413 in the OpenAI error shape")
    func badBodies() async throws {
        let server = try await ServerHarness.start { $0.maxBodyBytes = 4096 }
        let malformed = try await server.post("/chat/completions", raw: Data("{\"messages\": [".utf8))
        #expect(malformed.status == 400)
        expectError(malformed.body, type: "invalid_request_error")
        let notObject = try await server.post("/chat/completions", raw: Data("[1, 2]".utf8))
        #expect(notObject.status == 400)
        var wrongType = request("hi")
        wrongType["temperature"] = "hot"
        let typed = try await server.post("/chat/completions", json: wrongType)
        #expect(typed.status == 400)
        expectError(typed.body, param: "temperature")
        let noMessages = try await server.post("/chat/completions", json: ["model": ServerHarness.modelName])
        #expect(noMessages.status == 400)
        expectError(noMessages.body, param: "messages")
        var tooLong = request("hi")
        tooLong["max_tokens"] = 1_000_000
        let context = try await server.post("/chat/completions", json: tooLong)
        #expect(context.status == 400)
        expectError(context.body, code: "context_length_exceeded")
        let huge = try await server.post("/chat/completions", json: request(String(repeating: "a", count: 20_000)))
        #expect(huge.status == 413)
        expectError(huge.body, code: "request_too_large")
        let unknown = try await server.post("/chat/completions", json: ["model": "gpt-4o", "messages": [["role": "user", "content": "x"]]])
        #expect(unknown.status == 404)
        expectError(unknown.body, param: "model", code: "model_not_found")
        let path = try await server.get("/nothing-here")
        #expect(path.status == 404)
        let badIds = try await server.post("/completions", json: ["model": ServerHarness.modelName, "prompt": [5, 100_000]])
        #expect(badIds.status == 400)
        expectError(badIds.body, param: "prompt")
        // Token ids are taken exactly: a fraction, a boolean or a number beyond 2^53 is refused, never floored or
        // coerced into another token (2.5 used to become 2, true 1).
        for ids in ["[1, 2.5]", "[[1, true]]", "[true]", "[1, 1e20]", "[[3], [1, 2.0000001]]", "[1, [2]]"] {
            let body = Data("{\"model\": \"\(ServerHarness.modelName)\", \"max_tokens\": 2, \"prompt\": \(ids)}".utf8)
            let refused = try await server.post("/completions", raw: body)
            #expect(refused.status == 400, "prompt \(ids)")
            expectError(refused.body, param: "prompt")
            let message = (object(refused.body)["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("'prompt'"), "prompt \(ids): \(message)")
        }
        let idLists = try await server.post("/completions", raw: Data(
            "{\"model\": \"\(ServerHarness.modelName)\", \"max_tokens\": 2, \"prompt\": [[5, 6], [7]]}".utf8))
        #expect(idLists.status == 200 && (object(idLists.body)["choices"] as? [Any])?.count == 2)
        let after = try await server.post("/chat/completions", json: request("still there?"))
        await server.stop()
        #expect(after.status == 200 && content(after.body) != nil)
    }

    @Test("with an API key: none or a wrong one gets 401, the right one passes, the key is never echoed")
    func apiKey() async throws {
        let key = "sk-local-0123456789abcdef"
        let server = try await ServerHarness.start { $0.apiKey = key }
        let missing = try await server.post("/chat/completions", json: request("hi"))
        let wrong = try await server.post("/chat/completions", json: request("hi"), key: "sk-local-0123456789abcdeX")
        let short = try await server.get("/models", key: "sk")
        let right = try await server.post("/chat/completions", json: request("hi"), key: key)
        let models = try await server.get("/models", key: key)
        await server.stop()
        for response in [missing, wrong, short] {
            #expect(response.status == 401)
            expectError(response.body, code: "invalid_api_key")
            #expect(!String(decoding: response.body, as: UTF8.self).contains("0123456789"))
        }
        #expect(right.status == 200 && models.status == 200)
    }

    @Test("a request larger than the whole queue gets 400 (retrying cannot help); the server answers afterwards")
    func overloaded() async throws {
        let server = try await ServerHarness.start(maxQueuedSequences: 2)
        var many = request("hello")
        many["n"] = 3
        let refused = try await server.post("/chat/completions", json: many)
        many["n"] = 2
        let accepted = try await server.post("/chat/completions", json: many)
        await server.stop()
        #expect(refused.status == 400)
        expectError(refused.body, type: "invalid_request_error", param: "n")
        #expect(accepted.status == 200)
    }

    @Test("a client that disconnects mid-stream stops its sequence; the server still answers")
    func disconnectMidStream() async throws {
        let server = try await ServerHarness.start()
        var streamed = request("Tell me a very long story.", maxTokens: 3000)
        streamed["stream"] = true
        streamed["min_tokens"] = 3000
        let gotChunk = PortBox()
        let client = server.client
        let baseURL = server.baseURL
        let reader = Task {
            var http = HTTPClientRequest(url: baseURL + "/chat/completions")
            http.method = .POST
            http.headers.add(name: "Content-Type", value: "application/json")
            http.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: streamed)))
            let response = try await client.execute(http, timeout: .seconds(60))
            var count = 0
            for try await _ in response.body {
                count += 1
                if count >= 3 { gotChunk.set(count) }
            }
        }
        for _ in 0..<1000 where gotChunk.get() == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(gotChunk.get() != nil, "the stream started")
        reader.cancel()
        _ = await reader.result
        var stats = server.scheduler.statistics
        for _ in 0..<500 where stats.cancelledSequences == 0 {
            try await Task.sleep(nanoseconds: 20_000_000)
            stats = server.scheduler.statistics
        }
        let after = try await server.post("/chat/completions", json: request("are you there?"))
        await server.stop()
        #expect(stats.cancelledSequences == 1)
        #expect(stats.generatedTokens < 3000, "the sequence stopped early")
        #expect(after.status == 200 && content(after.body) != nil)
    }
}
