import AsyncHTTPClient
import Foundation
import Generation
import Testing
import Tokenizers

@testable import Server

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking TCP client for what HTTP libraries will not send: HTTP/1.0, half-written headers.
final class RawSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw HarnessError(description: "connect failed: \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads until the peer closes or `timeout` passes; `closed` tells which.
    func readAll(timeout: Double) -> (data: Data, closed: Bool) {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (data, true) }
            if n < 0 { return (data, errno == ECONNRESET) }
            data.append(contentsOf: buffer[0..<n])
        }
        return (data, false)
    }
}

/// Issue 15's hostile clients: each defect has its test here.
@Suite(.serialized) struct ServerHardeningTests {
    /// Runs `body` against a fresh server and stops it whether or not `body` throws.
    func withServer<T>(
        configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (ServerHarness) async throws -> T
    ) async throws -> T {
        let server = try await ServerHarness.start(configure: configure)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    func chat(_ text: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        ["messages": [["role": "user", "content": text]], "max_tokens": 4, "temperature": 0].merging(extra) { $1 }
    }

    @Test("the key comparison covers the full length: the key followed by 256 NULs is not the key")
    func keyComparisonIsOverTheFullLength() {
        let key = Array("sk-secret".utf8)
        #expect(constantTimeEqual(key, key))
        #expect(!constantTimeEqual(key + [UInt8](repeating: 0, count: 256), key))
        #expect(!constantTimeEqual(key, key + [UInt8](repeating: 0, count: 256)))
        #expect(!constantTimeEqual([], [UInt8](repeating: 0, count: 512)))
        #expect(!constantTimeEqual(Array("sk-secreT".utf8), key))
    }

    @Test("unsupported OpenAI parameters, unknown roles and duplicate keys are 400s naming what was wrong")
    func unsupportedParameters() async throws {
        try await withServer { server in
        var statuses: [String: (Int, Data)] = [:]
        let cases: [(String, [String: Any])] = [
            ("tools", ["tools": [["type": "function", "function": ["name": "f"]]]]), ("tool_choice", ["tool_choice": "auto"]),
            ("logit_bias", ["logit_bias": ["5": 100]]), ("echo", ["echo": true]), ("best_of", ["best_of": 3]),
            ("suffix", ["suffix": "end"]),
        ]
        for (name, extra) in cases { statuses[name] = try await server.post("/chat/completions", json: chat("hi", extra)) }
        let completion = try await server.post("/completions", json: ["prompt": "hi", "max_tokens": 2, "echo": true])
        let defaults = try await server.post(
            "/chat/completions", json: chat("hi", ["tools": [Any](), "echo": false, "best_of": 1, "logit_bias": [String: Any]()]))
        let role = try await server.post(
            "/chat/completions", json: ["messages": [["role": "wizard", "content": "hi"]], "max_tokens": 2])
        let duplicate = try await server.post(
            "/chat/completions",
            raw: Data(#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "max_tokens": 400}"#.utf8))
        for (name, _) in cases {
            #expect(statuses[name]?.0 == 400, "\(name)")
            if let body = statuses[name]?.1 { expectError(body, param: name) }
        }
        #expect(completion.status == 400)
        expectError(completion.body, param: "echo")
        #expect(defaults.status == 200)
        #expect(role.status == 400)
        #expect(String(decoding: role.body, as: UTF8.self).contains("wizard"))
        #expect(duplicate.status == 400)
        #expect(String(decoding: duplicate.body, as: UTF8.self).contains("duplicate key"))
        }
    }

    @Test("a full queue is a 503 only when waiting could help")
    func fullQueueIs503() throws {
        let generator = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer)
        let scheduler = GenerationScheduler(generator: generator, maxBatchSize: 2, maxQueuedSequences: 2)
        let request = GenerationRequest(promptIds: [1, 2], parameters: SamplingParameters())
        _ = try scheduler.submit([request, request])  // not started: both stay queued
        #expect(throws: APIError.overloaded("2 sequences are already waiting; try again later")) {
            try ModelBackend.submit([request], to: scheduler)
        }
        #expect((try? ModelBackend.submit([request, request, request], to: scheduler)) == nil)
        do {
            _ = try ModelBackend.submit([request, request, request], to: scheduler)
        } catch let error as APIError {
            #expect(error.status == 400)
        }
        scheduler.shutdown()
    }

    @Test("logprobs bytes are the token's raw bytes, also for a token holding part of a UTF-8 character")
    func logprobBytesAreRaw() throws {
        let tokenizer = Fixtures.chat.tokenizer
        let id = try #require(tokenizer.id(for: "¡"))  // the byte-level token for the single byte 0xA1
        #expect(tokenizer.tokenBytes(id) == [0xA1])
        let response = LogprobsWriter(kind: .chat, tokenizer: tokenizer)
        #expect(response.tokenText(id).1 == [0xA1], "before: U+FFFD's bytes 239, 191, 189")
        let hello = try #require(tokenizer.encodeIds("hello", addSpecialTokens: false).first)
        #expect(response.tokenText(hello).1 == Array(tokenizer.decode([hello]).utf8).map(Int.init))
    }

    @Test("an HTTP/1.0 client gets a 1.0 response without chunked encoding, and the connection closes")
    func http10() async throws {
        try await withServer { server in
        let body = #"{"prompt": "hello", "max_tokens": 3, "stream": true, "temperature": 0}"#
        let port = server.port
        let (response, closed) = try await Task.detached {
            let socket = try RawSocket(port: port)
            socket.send("POST /v1/completions HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            let (data, closed) = socket.readAll(timeout: 30)
            return (String(decoding: data, as: UTF8.self), closed)
        }.value
        #expect(response.hasPrefix("HTTP/1.0 200"), "\(response.prefix(200))")
        #expect(!response.lowercased().contains("transfer-encoding"))
        #expect(response.contains("data: [DONE]"))
        #expect(closed, "the server closed the connection after the response")
        }
    }

    @Test("slow-header sockets are closed at the idle timeout while the server keeps answering")
    func slowloris() async throws {
        try await withServer(configure: { $0.idleTimeout = 1 }) { server in
        let port = server.port
        let sockets = try (0..<50).map { _ in try RawSocket(port: port) }
        for socket in sockets { socket.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n") }
        let models = try await server.get("/models")
        try await Task.sleep(nanoseconds: 3_000_000_000)
        let closed = await Task.detached { sockets.map { $0.readAll(timeout: 0.3).closed } }.value
        let after = try await server.get("/models")
        #expect(models.status == 200)
        #expect(closed.allSatisfy { $0 }, "\(closed.filter { !$0 }.count) of 50 slow sockets still open after 3 s")
        #expect(after.status == 200)
        }
    }

    @Test("a chat template that loops 10000 × 10000 times is a 400 naming the limit; /v1/models answers meanwhile")
    func runawayChatTemplate() async throws {
        let directory = URL(fileURLWithPath: Fixtures.chatModelDirectory)
        let tokenizer = try Tokenizer(
            tokenizerJSON: Data(contentsOf: directory.appendingPathComponent("tokenizer.json")),
            configJSON: Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")),
            chatTemplate: "{% for i in range(10000) %}{% for j in range(10000) %}{{ '' }}{% endfor %}{% endfor %}")
        let server = try await ServerHarness.start(tokenizer: tokenizer)
        // The chats go through a client of their own, so /v1/models never waits for one of its connections.
        var wide = HTTPClient.Configuration()
        wide.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        let chatClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: wide)
        let finished = PortBox()
        // Sixteen at once, each stopped at the iteration limit after ~0.3 s (debug build): rendered on the threads
        // that answer requests (a concurrent DispatchQueue's, on Linux), they held every one for seconds.
        let chats = Task {
            defer { finished.set(1) }
            return try await withThrowingTaskGroup(of: (status: Int, body: Data).self) { group in
                for _ in 0..<16 {
                    group.addTask { try await server.post("/chat/completions", json: chat("hi"), using: chatClient) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        // Gaps between one /v1/models answer and the next (the first from the start): a stalled server, or a
        // process whose async threads are all held, shows as a long one.
        var gaps: [Double] = [], duringChats = 0, last = Date()
        repeat {
            let models = try? await server.get("/models")
            gaps.append(Date().timeIntervalSince(last))
            last = Date()
            #expect(models?.status == 200)
            if finished.get() == nil { duringChats += 1 }
            try? await Task.sleep(nanoseconds: 20_000_000)
        } while finished.get() == nil || gaps.count < 3
        let answers = try? await chats.value
        try? await chatClient.shutdown()
        let after = try? await server.post("/completions", json: ["prompt": "hi", "max_tokens": 2])
        await server.stop()
        #expect(answers?.count == 16)
        for answer in answers ?? [] {
            #expect(answer.status == 400)
            expectError(answer.body, param: "messages")
            let message = (object(answer.body)["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("loop iterations"), "\(message)")
        }
        #expect(duringChats >= 3, "\(duringChats) /v1/models requests answered while the templates ran")
        #expect(gaps.allSatisfy { $0 < 1 }, "no /v1/models answer for \(gaps.max() ?? 0) s")
        #expect(after?.status == 200)
    }
}

/// `serve`'s scheduler admits waiting requests into the running batch.
@Suite struct ContinuousSchedulingTests {
    @Test("a request submitted while a batch runs joins it at once and generates what it generates alone")
    func lateRequestJoinsTheRunningBatch() async throws {
        let generator = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer)
        let scheduler = GenerationScheduler(generator: generator, maxBatchSize: 4, gatherDelay: 0)
        scheduler.start()
        defer { scheduler.shutdown() }
        func greedy(_ prompt: [Int], _ n: Int) -> GenerationRequest {
            var p = SamplingParameters()
            p.maxNewTokens = n
            p.minNewTokens = n
            return GenerationRequest(promptIds: prompt, parameters: p)
        }
        // The long request runs for seconds; it is cancelled once the short one is done.
        let long = greedy([5, 9, 14, 3], 3000), short = greedy(Array(10...30), 6)
        let first = try scheduler.submit([long])
        var longTokens = 0
        var shortResult: GeneratedSequence?, longResult: GeneratedSequence?
        for await event in first.events {
            switch event {
            case .token:
                longTokens += 1
                guard longTokens == 3 else { continue }
                for await event in try scheduler.submit([short]).events {
                    if case .finished(_, let result) = event { shortResult = result }
                }
                first.cancel()
            case .finished(_, let result): longResult = result
            case .failed(let message): Issue.record("failed: \(message)")
            }
        }
        #expect(shortResult?.tokenIds == (try generator.generate([short])[0].tokenIds))
        // Had it waited for the running batch, the short request would still be queued behind 3000 tokens.
        #expect(longResult?.finishReason == .cancelled && longResult!.tokenIds.count < 3000)
        let stats = scheduler.statistics
        #expect(stats.batches == 1 && stats.largestBatch == 2 && stats.sequences == 2, "\(stats)")
    }
}
