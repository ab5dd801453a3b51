import Foundation
import Generation
import JSON
import Server
import Testing
import Tokenizers

/// One server over two backends: the request both answer from, parsed once, and the checks and connection guards
/// the model and the built-in teacher share.
@Suite(.serialized) struct BackendTests {
    static let hi = #""messages": [{"role": "user", "content": "hi"}]"#

    /// The error a body is refused with, or nil when it is accepted.
    func refusal(_ text: String, _ kind: OpenAIRequest.Kind = .chat) -> APIError? {
        do {
            _ = try OpenAIRequest(body: Array(text.utf8), kind: kind)
            return nil
        } catch {
            return error as? APIError
        }
    }

    /// The error object's fields as one comparable string.
    func errorFields(_ data: Data) -> String {
        let error = object(data)["error"] as? [String: Any] ?? [:]
        return ["message", "type", "param", "code"].map { "\(error[$0] ?? "absent")" }.joined(separator: " | ")
    }

    @Test("a request is checked from a parsed JSONValue alone; the body's text gives the same request")
    func requestFromJSONValue() throws {
        let parts: JSONValue = [["type": "text", "text": "Be "], ["type": "text", "text": "brief."]]
        let json: JSONValue = [
            "model": "m", "messages": [["role": "developer", "content": parts], ["role": "user", "content": "hi"]],
            "n": 2, "stream": true, "stream_options": ["include_usage": true], "max_tokens": 7, "temperature": 0.5,
            "seed": -1, "stop": ["\n", ""], "response_format": ["type": "json_object"], "tools": [], "echo": false,
        ]
        let request = try OpenAIRequest(json: json, kind: .chat)
        let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "hi")]
        #expect(request.kind == .chat && request.model == "m" && request.input == .messages(messages))
        #expect(request.n == 2 && request.stream && request.includeUsage && !request.logprobs)
        #expect(request.maxTokens == 7 && request.parameters.temperature == 0.5 && request.parameters.seed == .max)
        #expect(request.parameters.stopStrings == ["\n"] && request.parameters.jsonObject)
        // Parsing is the only step between the text and the request.
        #expect(try OpenAIRequest(body: Array(json.serialized().utf8), kind: .chat) == request)

        let ids = try OpenAIRequest(json: ["prompt": [[5, 6], [7]], "logprobs": 2], kind: .text)
        #expect(ids.kind == .text && ids.input == .tokenIds([[5, 6], [7]]))
        #expect(ids.logprobs && ids.parameters.topLogprobs == 2 && ids.maxTokens == nil)
        #expect(try OpenAIRequest(json: ["prompt": ["a", "b"]], kind: .text).input == .texts(["a", "b"]))
        #expect(try OpenAIRequest(json: ["prompt": "a"], kind: .text).input == .texts(["a"]))
    }

    @Test("duplicate keys, wrong types and ranges, unsupported parameters and bad prompts are 400s naming the field")
    func requestChecks() {
        let duplicate = refusal("{\(Self.hi), \"n\": 1, \"n\": 2}")
        #expect(duplicate?.status == 400 && duplicate?.message.contains(#"duplicate key "n""#) == true)
        #expect(refusal("[1, 2]")?.message == "The body is not a JSON object.")
        let cases = [
            ("n", #""n": 17"#), ("temperature", #""temperature": "hot""#), ("top_p", #""top_p": 0"#),
            ("stop", #""stop": 5"#), ("tools", #""tools": [{}]"#), ("max_tokens", #""max_tokens": 0"#),
            ("response_format", #""response_format": {"type": "json_schema"}"#), ("stream", #""stream": 1"#),
            ("top_logprobs", #""top_logprobs": 2"#), ("messages", #""messages": []"#),
        ]
        for (field, text) in cases {
            let body = field == "messages" ? "{\(text)}" : "{\(Self.hi), \(text)}"
            let error = refusal(body)
            #expect(error?.status == 400 && error?.param == field, "\(text): \(String(describing: error))")
        }
        for prompt in ["[1, 2.5]", "[[1, true]]", "[1, [2]]", "[]", "5"] {
            #expect(refusal("{\"prompt\": \(prompt)}", .text)?.param == "prompt", "\(prompt)")
        }
        #expect(refusal("{\(Self.hi)}") == nil)
    }

    @Test("the model and the built-in teacher answer the same bad bodies with the same errors")
    func sameChecksOnBothBackends() async throws {
        let model = try await ServerHarness.start()
        let teacher = try await TeacherHarness.start()
        let bodies = [
            "{\(Self.hi), \"max_tokens\": 2, \"max_tokens\": 400}", "{\(Self.hi), \"n\": 17}",
            #"{"messages": [{"role": "wizard", "content": "hi"}]}"#, "{\(Self.hi), \"tools\": [{\"type\": \"f\"}]}",
            "{\(Self.hi), \"top_p\": 0}", "{\(Self.hi), \"stop\": [1]}", #"{"messages": []}"#, "{\"messages\": [",
            "[1, 2]",
        ]
        for body in bodies {
            let fromModel = try await model.post("/chat/completions", raw: Data(body.utf8))
            let fromTeacher = try await teacher.post(raw: Data(body.utf8))
            #expect(fromModel.status == 400 && fromTeacher.status == 400, "\(body)")
            #expect(errorFields(fromModel.body) == errorFields(fromTeacher.body), "\(body)")
        }
        let duplicate = try await teacher.post(raw: Data(bodies[0].utf8))
        #expect(String(decoding: duplicate.body, as: UTF8.self).contains("duplicate key"))
        // Only the model answers legacy completions.
        let completion = try await teacher.post(raw: Data(#"{"prompt": "hi"}"#.utf8), path: "/completions")
        #expect(completion.status == 404)
        expectError(completion.body, code: "unknown_url")
        await model.stop()
        await teacher.stop()
    }

    @Test("the teacher's server has the body limit and the connection guards: 413, idle timeout, HTTP/1.0")
    func teacherGuards() async throws {
        let server = try await TeacherHarness.start { settings in
            settings.maxBodyBytes = 256
            settings.idleTimeout = 1
        }
        let padding = String(repeating: "a", count: 300)
        let large = try await server.post(raw: Data("{\(Self.hi), \"x\": \"\(padding)\"}".utf8))
        #expect(large.status == 413)
        expectError(large.body, code: "request_too_large")
        let port = server.port
        let (closed, legacy) = try await Task.detached {
            let sockets = try (0..<20).map { _ in try RawSocket(port: port) }
            for socket in sockets { socket.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n") }
            try await Task.sleep(nanoseconds: 3_000_000_000)
            let closed = sockets.map { $0.readAll(timeout: 0.3).closed }
            let body = "{\(Self.hi), \"stream\": true}"
            let legacy = try RawSocket(port: port)
            legacy.send("POST /v1/chat/completions HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            let (data, ended) = legacy.readAll(timeout: 10)
            return (closed, (String(decoding: data, as: UTF8.self), ended))
        }.value
        let models = try await server.get("/models").status
        await server.stop()
        #expect(closed.allSatisfy { $0 }, "\(closed.filter { !$0 }.count) of 20 slow sockets still open after 3 s")
        #expect(legacy.0.hasPrefix("HTTP/1.0 200"), "\(legacy.0.prefix(200))")
        #expect(!legacy.0.lowercased().contains("transfer-encoding") && legacy.0.contains("data: [DONE]"))
        #expect(legacy.1, "the server closed the HTTP/1.0 connection after the response")
        #expect(models == 200)
    }

    @Test("the teacher's server holds at most maxConnections: a third connection waits until one closes")
    func teacherConnectionCap() async throws {
        let server = try await TeacherHarness.start { $0.maxConnections = 2 }
        let port = server.port
        let (early, late) = try await Task.detached {
            var holders = [try RawSocket(port: port), try RawSocket(port: port)]
            try await Task.sleep(nanoseconds: 500_000_000)  // both accepted: the server stops accepting
            let waiting = try RawSocket(port: port)
            waiting.send("GET /v1/models HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            let early = waiting.readAll(timeout: 1).data
            holders.removeFirst()  // closes its socket
            let late = waiting.readAll(timeout: 10).data
            return (early, String(decoding: late, as: UTF8.self))
        }.value
        await server.stop()
        #expect(early.isEmpty, "answered while two connections were open: \(String(decoding: early, as: UTF8.self))")
        #expect(late.hasPrefix("HTTP/1.0 200") && late.contains(TeacherHarness.modelName), "\(late.prefix(200))")
    }
}
