import Common
import Foundation
import Generation
import Server
import Testing
import Tokenizers

/// Plain and streamed completions through a real server on 127.0.0.1, checked against the OpenAI API
/// reference's field names and against the generator called directly.
@Suite(.serialized) struct CompletionTests {
    let chat: [String: Any] = [
        "model": ServerHarness.modelName, "temperature": 0, "max_tokens": 20,
        "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Say hello to the tram."]],
    ]

    /// What the generator gives for the same conversation, called directly.
    func direct(maxTokens: Int) throws -> GeneratedSequence {
        let tokenizer = Fixtures.chat.tokenizer
        let ids = try tokenizer.chatPromptIds([
            ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Say hello to the tram."),
        ])
        var p = SamplingParameters()
        p.maxNewTokens = maxTokens
        return try Generator(model: Fixtures.chat.model, tokenizer: tokenizer).generate([GenerationRequest(promptIds: ids, parameters: p)])[0]
    }

    @Test("GET /v1/models lists the served model in the OpenAI list shape")
    func models() async throws {
        let server = try await ServerHarness.start()
        let (status, body) = try await server.get("/models")
        let one = try await server.get("/models/\(ServerHarness.modelName)")
        let missing = try await server.get("/models/gpt-4")
        await server.stop()
        #expect(status == 200)
        let list = object(body)
        #expect(list["object"] as? String == "list")
        let model = (list["data"] as? [[String: Any]])?.first
        #expect(model?["id"] as? String == ServerHarness.modelName && model?["object"] as? String == "model")
        #expect(model?["created"] is Int && model?["owned_by"] is String)
        #expect(one.status == 200 && object(one.body)["id"] as? String == ServerHarness.modelName)
        #expect(missing.status == 404)
        expectError(missing.body, code: "model_not_found")
    }

    @Test("a chat completion has the chat.completion shape, usage, and the generator's greedy text")
    func plainChat() async throws {
        let server = try await ServerHarness.start()
        let (status, body) = try await server.post("/chat/completions", json: chat)
        await server.stop()
        #expect(status == 200)
        let reply = object(body)
        #expect((reply["id"] as? String)?.hasPrefix("chatcmpl-") == true)
        #expect(reply["object"] as? String == "chat.completion" && reply["created"] is Int)
        #expect(reply["model"] as? String == ServerHarness.modelName)
        let choice = (reply["choices"] as? [[String: Any]])?.first ?? [:]
        let message = choice["message"] as? [String: Any] ?? [:]
        #expect(choice["index"] as? Int == 0 && message["role"] as? String == "assistant")
        #expect(["stop", "length"].contains(choice["finish_reason"] as? String ?? ""))
        #expect(choice.keys.contains("logprobs"))
        let expected = try direct(maxTokens: 20)
        #expect(message["content"] as? String == expected.text)
        let usage = reply["usage"] as? [String: Int] ?? [:]
        #expect(usage["completion_tokens"] == expected.tokenIds.count && usage["prompt_tokens"] == expected.promptTokens)
        #expect(usage["total_tokens"] == (usage["prompt_tokens"] ?? 0) + (usage["completion_tokens"] ?? 0))
    }

    @Test("a streamed chat sends chunks that add up to the plain answer, usage, then [DONE]")
    func streamedChat() async throws {
        let server = try await ServerHarness.start()
        var streamed = chat
        streamed["stream"] = true
        streamed["stream_options"] = ["include_usage": true]
        let (status, body) = try await server.post("/chat/completions", json: streamed)
        await server.stop()
        #expect(status == 200)
        let payloads = events(body)
        #expect(payloads.last == "[DONE]")
        let chunks = payloads.dropLast().map { object(Data($0.utf8)) }
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && ($0["id"] as? String)?.hasPrefix("chatcmpl-") == true })
        #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1, "one id for the whole stream")
        let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
        let deltas = choices.compactMap { $0["delta"] as? [String: Any] }
        #expect(deltas.first?["role"] as? String == "assistant")
        let text = deltas.compactMap { $0["content"] as? String }.joined()
        let expected = try direct(maxTokens: 20)
        #expect(text == expected.text)
        #expect(choices.last?["finish_reason"] as? String == (expected.finishReason == .length ? "length" : "stop"))
        #expect(choices.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull }, "usage is null until the last chunk")
        let usage = chunks.last?["usage"] as? [String: Int]
        #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true)
        #expect(usage?["completion_tokens"] == expected.tokenIds.count)
    }

    @Test("legacy completions: text_completion shape, streamed pieces, logprobs with alternatives")
    func textCompletion() async throws {
        let server = try await ServerHarness.start()
        let request: [String: Any] = ["model": ServerHarness.modelName, "prompt": "The cat", "max_tokens": 8,
                                      "temperature": 0, "logprobs": 2]
        let (status, body) = try await server.post("/completions", json: request)
        var streamed = request
        streamed["stream"] = true
        let stream = try await server.post("/completions", json: streamed)
        await server.stop()
        #expect(status == 200)
        let reply = object(body)
        #expect(reply["object"] as? String == "text_completion" && (reply["id"] as? String)?.hasPrefix("cmpl-") == true)
        let choice = (reply["choices"] as? [[String: Any]])?.first ?? [:]
        let text = choice["text"] as? String ?? ""
        let logprobs = choice["logprobs"] as? [String: Any] ?? [:]
        let tokens = logprobs["tokens"] as? [String] ?? []
        #expect(tokens.count == 8 && (logprobs["token_logprobs"] as? [Double])?.count == 8)
        #expect((logprobs["top_logprobs"] as? [[String: Double]])?.allSatisfy { !$0.isEmpty && $0.count <= 2 } == true)
        #expect((logprobs["text_offset"] as? [Int])?.first == 0)
        #expect(stream.status == 200)
        let pieces = events(stream.body).dropLast().map { object(Data($0.utf8)) }
            .compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }
        #expect(pieces.joined() == text)
    }

    @Test("chat logprobs: one entry per token with token, logprob, bytes and top_logprobs")
    func chatLogprobs() async throws {
        let server = try await ServerHarness.start()
        var request = chat
        request["logprobs"] = true
        request["top_logprobs"] = 3
        request["max_tokens"] = 6
        let (status, body) = try await server.post("/chat/completions", json: request)
        await server.stop()
        #expect(status == 200)
        let choice = (object(body)["choices"] as? [[String: Any]])?.first ?? [:]
        let content = (choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] ?? []
        #expect(content.count == (object(body)["usage"] as? [String: Int])?["completion_tokens"])
        for entry in content {
            #expect(entry["token"] is String && entry["bytes"] is [Int])
            let logprob = entry["logprob"] as? Double ?? 1
            #expect(logprob <= 0)
            let top = entry["top_logprobs"] as? [[String: Any]] ?? []
            #expect(top.count == 3)
            // Greedy: the chosen token is the most likely one.
            #expect(abs((top.first?["logprob"] as? Double ?? 0) - logprob) < 1e-6)
        }
    }

    @Test("seed, n, stop and max_tokens: same seed same text, n choices, text cut before the stop string")
    func samplingFields() async throws {
        let server = try await ServerHarness.start()
        var sampled = chat
        sampled["temperature"] = 1.0
        sampled["top_p"] = 0.9
        sampled["seed"] = 11
        sampled["n"] = 3
        let first = object(try await server.post("/chat/completions", json: sampled).body)
        let second = object(try await server.post("/chat/completions", json: sampled).body)
        func texts(_ reply: [String: Any]) -> [String] {
            (reply["choices"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["content"] as? String }
        }
        #expect(texts(first).count == 3 && texts(first) == texts(second))
        #expect(Set(texts(first)).count > 1, "choices use different seeds")
        #expect((first["choices"] as? [[String: Any]])?.map { $0["index"] as? Int } == [0, 1, 2])

        let greedy = try direct(maxTokens: 20).text
        let characters = Array(greedy)
        let stop = String(characters[4..<6])
        var stopping = chat
        stopping["stop"] = [stop]
        let cut = object(try await server.post("/chat/completions", json: stopping).body)
        await server.stop()
        let choice = (cut["choices"] as? [[String: Any]])?.first ?? [:]
        #expect((choice["message"] as? [String: Any])?["content"] as? String == String(greedy[..<greedy.range(of: stop)!.lowerBound]))
        #expect(choice["finish_reason"] as? String == "stop")
    }

    @Test("response_format json_object: the content is a JSON object, or a JSON prefix cut by max_tokens")
    func jsonMode() async throws {
        let server = try await ServerHarness.start()
        var request = chat
        request["response_format"] = ["type": "json_object"]
        request["max_tokens"] = 300
        var reasons: [String] = []
        for seed in 0..<3 {
            request["temperature"] = seed == 0 ? 0 : 0.8
            request["seed"] = seed
            let (status, body) = try await server.post("/chat/completions", json: request)
            #expect(status == 200)
            let choice = (object(body)["choices"] as? [[String: Any]])?.first ?? [:]
            let content = (choice["message"] as? [String: Any])?["content"] as? String ?? ""
            let reason = choice["finish_reason"] as? String ?? ""
            reasons.append(reason)
            if reason == "stop" {
                #expect((try? JSONSerialization.jsonObject(with: Data(content.utf8))) is [String: Any], "\(content)")
            } else {
                var prefix = JSONPrefix()
                let valid = prefix.feed(content)
                #expect(valid, "\(content)")
            }
        }
        var schema = request
        schema["response_format"] = ["type": "json_schema"]
        let refused = try await server.post("/chat/completions", json: schema)
        await server.stop()
        #expect(refused.status == 400)
        expectError(refused.body, param: "response_format")
    }
}
