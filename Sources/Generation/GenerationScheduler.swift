import Foundation

/// What a submitted request's stream reports, tagged with the index of the sequence (its OpenAI `choice`).
public enum SchedulerEvent: Sendable {
    case token(index: Int, TokenEvent)
    case finished(index: Int, GeneratedSequence)
    case failed(String)
}

/// The events of one submitted request, and a way to stop its sequences (a client that went away).
public struct Submission: Sendable {
    public let events: AsyncStream<SchedulerEvent>
    public let cancel: @Sendable () -> Void
}

/// Why a request was not queued; the server answers `overloaded` with 503 and `tooManySequences` with 400.
public enum SchedulerError: Error, Equatable, Sendable {
    /// The queue is full or the scheduler is stopping: retrying later can help.
    case overloaded(String)
    /// The request asks for more sequences than can ever be queued: retrying cannot help.
    case tooManySequences(requested: Int, limit: Int)
}

/// Something that turns generation requests into a stream of events: the server's only view of the engine,
/// so the HTTP layer can be driven by another engine.
public protocol GenerationService: Sendable {
    /// Queues the sequences of one API request; throws `SchedulerError` when it cannot be queued.
    func submit(_ requests: [GenerationRequest]) throws -> Submission
}

/// Runs generation on one dedicated thread, batching the requests that wait (up to `maxBatchSize` sequences
/// per batch) so concurrent clients share each decode step.
///
/// Policy:
/// 1. requests are queued first come, first served; past `maxQueuedSequences` waiting sequences, `submit`
///    fails with `SchedulerError.overloaded` (a 503) instead of letting latency grow without bound;
/// 2. a batch starts as soon as the thread is free, after a short gather delay that lets requests arriving
///    together share it;
/// 3. continuous batching: while a batch runs, waiting sequences join it before each decode step, up to
///    `maxBatchSize` running at once, and finished ones leave it, so a new request does not wait for the batch;
/// 4. a sequence whose client went away (its stream terminated) stops at the next token.
// Unchecked Sendable: queue and batch guarded by its lock; one generator thread.
public final class GenerationScheduler: GenerationService, @unchecked Sendable {
    public let generator: Generator
    public let maxBatchSize: Int
    public let maxQueuedSequences: Int
    /// How long a new batch waits for more requests to join it.
    public let gatherDelay: TimeInterval

    private let condition = NSCondition()
    private var pending: [Job] = []
    private var counters = Statistics()

    /// What the scheduler has done so far.
    public struct Statistics: Sendable, Equatable {
        public var batches = 0
        /// The most sequences generated together.
        public var largestBatch = 0
        public var sequences = 0
        /// Sequences stopped because their client went away.
        public var cancelledSequences = 0
        public var generatedTokens = 0
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }
    private var stopping = false
    private var thread: Thread?

    /// One sequence of a request, pointing at the request's shared ticket.
    private struct Job {
        let request: GenerationRequest
        let index: Int
        let ticket: Ticket
    }

    /// The stream of one API request: finished once each of its sequences is.
    // Unchecked Sendable: a thread-safe continuation; its counts change under the scheduler's lock.
    private final class Ticket: @unchecked Sendable {
        let continuation: AsyncStream<SchedulerEvent>.Continuation
        private let lock = NSLock()
        private var remaining: Int
        private var cancelledFlag = false

        init(continuation: AsyncStream<SchedulerEvent>.Continuation, count: Int) {
            self.continuation = continuation
            remaining = count
        }

        var cancelled: Bool { lock.withLock { cancelledFlag } }

        func cancel() { lock.withLock { cancelledFlag = true } }

        /// Counts one finished sequence; the stream ends with the last.
        func sequenceDone() {
            let last = lock.withLock { remaining -= 1; return remaining == 0 }
            if last { continuation.finish() }
        }
    }

    /// A scheduler over `generator`; call `start()` before submitting.
    public init(generator: Generator, maxBatchSize: Int = 8, maxQueuedSequences: Int = 256, gatherDelay: TimeInterval = 0.005) {
        precondition(maxBatchSize > 0 && maxQueuedSequences > 0, "batch and queue sizes must be positive")
        self.generator = generator
        self.maxBatchSize = maxBatchSize
        self.maxQueuedSequences = maxQueuedSequences
        self.gatherDelay = gatherDelay
    }

    /// Starts the generation thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "text2grad.generation"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Stops the thread after the running batch; queued requests fail.
    public func shutdown() {
        condition.lock()
        stopping = true
        let dropped = pending
        pending = []
        condition.broadcast()
        condition.unlock()
        for job in dropped {
            job.ticket.continuation.yield(.failed("the server is shutting down"))
            job.ticket.sequenceDone()
        }
    }

    public func submit(_ requests: [GenerationRequest]) throws -> Submission {
        precondition(!requests.isEmpty, "nothing to generate")
        let (stream, continuation) = AsyncStream<SchedulerEvent>.makeStream()
        let ticket = Ticket(continuation: continuation, count: requests.count)
        continuation.onTermination = { _ in ticket.cancel() }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw SchedulerError.overloaded("the server is shutting down") }
        // Retrying cannot help a request larger than the whole queue: that is the client's error, not a 503.
        guard requests.count <= maxQueuedSequences else {
            throw SchedulerError.tooManySequences(requested: requests.count, limit: maxQueuedSequences)
        }
        guard pending.count + requests.count <= maxQueuedSequences else {
            throw SchedulerError.overloaded("\(pending.count) sequences are already waiting; try again later")
        }
        pending += requests.enumerated().map { Job(request: $1, index: $0, ticket: ticket) }
        condition.signal()
        return Submission(events: stream, cancel: { ticket.cancel() })
    }

    /// Sequences waiting for a batch.
    public var queuedSequences: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            if pending.count < maxBatchSize && gatherDelay > 0 {
                _ = condition.wait(until: Date().addingTimeInterval(gatherDelay))
            }
            let batch = Array(pending.prefix(maxBatchSize)).filter { !$0.ticket.cancelled }
            let skipped = pending.prefix(maxBatchSize).filter(\.ticket.cancelled)
            pending.removeFirst(min(maxBatchSize, pending.count))
            condition.unlock()
            for job in skipped { job.ticket.sequenceDone() }
            if !batch.isEmpty { run(batch) }
        }
    }

    /// Waiting sequences that may join the running batch (continuous batching): up to `room`, first come first
    /// served. A sequence whose request is invalid fails on its own stream and does not join.
    private func admissions(room: Int) -> [Job] {
        guard room > 0 else { return [] }
        condition.lock()
        let taken = Array(pending.prefix(room))
        pending.removeFirst(taken.count)
        condition.unlock()
        var joining: [Job] = []
        for job in taken {
            guard !job.ticket.cancelled else {
                job.ticket.sequenceDone()
                continue
            }
            do {
                _ = try generator.validatedPrompt(job.request, index: job.index)
                joining.append(job)
            } catch {
                job.ticket.continuation.yield(.failed("\(error)"))
                job.ticket.sequenceDone()
            }
        }
        return joining
    }

    private func run(_ batch: [Job]) {
        // Every job of this run in the generator's numbering: the batch, then those admitted while it ran.
        var jobs = batch
        var largest = batch.count
        var streamed = false
        var done = Set<Int>()
        do {
            let results = try generator.generate(batch.map(\.request), admit: { [self] running in
                let joining = admissions(room: maxBatchSize - running)
                jobs += joining
                largest = max(largest, running + joining.count)
                return joining.map(\.request)
            }, onFinish: { row, result in
                // A sequence's stream ends when it does, not when the batch does.
                done.insert(row)
                jobs[row].ticket.continuation.yield(.finished(index: jobs[row].index, result))
                jobs[row].ticket.sequenceDone()
            }, onToken: { row, event in
                let job = jobs[row]
                guard !job.ticket.cancelled else { return false }
                streamed = true
                job.ticket.continuation.yield(.token(index: job.index, event))
                return true
            })
            condition.lock()
            counters.batches += 1
            counters.largestBatch = max(counters.largestBatch, largest)
            counters.sequences += jobs.count
            counters.cancelledSequences += results.filter { $0.finishReason == .cancelled }.count
            counters.generatedTokens += results.reduce(0) { $0 + $1.tokenIds.count }
            condition.unlock()
        } catch where batch.count > 1 && jobs.count == batch.count && !streamed && done.isEmpty {
            // A bad request in the first batch (nothing generated yet) must not fail the others: run each alone.
            for job in batch { run([job]) }
        } catch {
            for (row, job) in jobs.enumerated() where !done.contains(row) {
                job.ticket.continuation.yield(.failed("\(error)"))
                job.ticket.sequenceDone()
            }
        }
    }
}
