import Chat
import CodeSandbox
import Foundation
import Logging
import Spans
import Tasks
import Tokenizers

/// The result of annotating one item: a record, or a failure with its reason.
public enum ItemOutcome: Sendable, Equatable {
    /// The teacher answered usably.
    case record(AnnotationRecord)
    /// No record; the failure goes to the side file.
    case failure(FailureRecord)
}

/// Turns one item into a record: test run (code) → prompt → request → parse (one re-ask) → align.
///
/// Knows nothing about files; `AnnotationRun` feeds it items and writes what it returns. Only
/// environment errors (the sandbox cannot start) are thrown; everything about a single item,
/// including every HTTP and parse failure, comes back as `.failure`.
public struct Annotator: Sendable {
    /// The task being annotated.
    public let task: any AnnotationTask
    /// The teacher.
    public let client: any ChatCompleting
    /// Sampling settings copied into each request.
    public var temperature: Double
    /// Nucleus sampling, if set.
    public var topP: Double?
    /// Completion token limit.
    public var maxTokens: Int
    /// Model name and base URL as recorded in `teacher`.
    public var model: String
    /// Recorded base URL (credentials removed by the caller).
    public var baseURL: String
    /// Whether an unparseable answer gets one re-ask.
    public var reask: Bool
    /// Span alignment settings.
    public var aligner: SpanAligner
    /// Test runner for code tasks.
    public var sandbox: Sandbox
    /// Bounds concurrent test runs independently of request concurrency.
    let sandboxSlots: AsyncSlots

    /// Creates an annotator.
    public init(
        task: any AnnotationTask, client: any ChatCompleting, model: String, baseURL: String,
        temperature: Double = 0.3, topP: Double? = nil, maxTokens: Int = 1200, reask: Bool = true,
        aligner: SpanAligner = SpanAligner(), sandbox: Sandbox = Sandbox(), sandboxConcurrency: Int = 2
    ) {
        self.task = task
        self.client = client
        self.model = model
        self.baseURL = baseURL
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.reask = reask
        self.aligner = aligner
        self.sandbox = sandbox
        sandboxSlots = AsyncSlots(sandboxConcurrency)
    }

    /// Annotates `item`; `usage` receives the tokens of every request made, failed items included.
    public func annotate(_ item: TaskItem, usage: @Sendable (TokenUsage) async -> Void = { _ in }) async throws
        -> ItemOutcome
    {
        var execution: ExecutionResult?
        if task.runsCode, let tests = item.tests, !tests.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            execution = try await sandboxSlots.run {
                try await sandbox.run(code: Sandbox.code(in: item.response), tests: tests)
            }
        }
        let messages: [ChatMessage]
        do {
            messages = try task.messages(for: item, execution: execution)
        } catch let error as AnnotationError {
            return .failure(FailureRecord(id: item.id, kind: "prompt", reason: error.description))
        }
        var request = ChatRequest(messages: messages, temperature: temperature, topP: topP, maxTokens: maxTokens)
        var spent = TokenUsage()
        var latency = 0
        var attempts = 0
        var raw: String
        var rawFirst: String?
        do {
            let reply = try await client.complete(request)
            await usage(reply.usage)
            (spent, latency, attempts, raw) = (reply.usage, reply.latencyMilliseconds, reply.attempts, reply.content)
        } catch let error as ChatClientError {
            // A cancelled run (abort, Ctrl-C) is not this item's failure: leave it pending.
            if Task.isCancelled { throw CancellationError() }
            return .failure(FailureRecord(id: item.id, kind: error.kind, reason: error.description))
        }
        var parsed = AnswerParser.parse(raw, labels: task.labels)
        if case let .failure(problem) = parsed, reask {
            request.messages += [
                ChatMessage(role: "assistant", content: raw),
                ChatMessage(
                    role: "user", content: TeacherPrompts.reask(reason: problem.description, labels: task.labels)),
            ]
            do {
                let reply = try await client.complete(request)
                await usage(reply.usage)
                spent = spent + reply.usage
                latency += reply.latencyMilliseconds
                attempts += reply.attempts
                rawFirst = raw
                raw = reply.content
                parsed = AnswerParser.parse(raw, labels: task.labels)
            } catch let error as ChatClientError {
                if Task.isCancelled { throw CancellationError() }
                let reason = "the answer could not be parsed (\(problem)); the re-ask failed: \(error)"
                return .failure(FailureRecord(id: item.id, kind: error.kind, reason: reason, raw: raw))
            }
        }
        switch parsed {
        case let .failure(problem):
            let reason =
                "unusable answer (\(problem.kind)): \(problem)" + (rawFirst == nil ? "" : " (after one re-ask)")
            return .failure(FailureRecord(id: item.id, kind: "parse", reason: reason, raw: raw, rawFirst: rawFirst))
        case let .success(answer):
            let spans = aligner.align(answer.spans, labels: task.labels, in: item.response)
            let teacher = TeacherInfo(
                model: model, baseURL: baseURL, temperature: temperature, usage: spent,
                latencyMilliseconds: latency, attempts: attempts)
            return .record(
                AnnotationRecord(
                    id: item.id, task: task.name, prompt: item.prompt, response: item.response,
                    critique: answer.critique, spans: spans, teacher: teacher, raw: raw, rawFirst: rawFirst,
                    execution: execution))
        }
    }
}

/// A counting semaphore for async code: at most `limit` bodies run at once, the rest wait in order.
// Unchecked Sendable: its count and waiters are guarded by its lock.
final class AsyncSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) {
        precondition(limit >= 1, "a slot pool needs at least one slot")
        free = limit
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if free > 0 {
                free -= 1
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }

    private func release() {
        lock.lock()
        if waiters.isEmpty {
            free += 1
            lock.unlock()
        } else {
            let next = waiters.removeFirst()
            lock.unlock()
            next.resume()
        }
    }
}
