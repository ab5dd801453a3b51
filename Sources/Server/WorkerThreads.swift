import Foundation

/// A fixed set of threads of its own taking jobs in order, for work that may hold a thread for a while.
///
/// Parsing a body, tokenising and rendering the chat template run here: a slow template (bounded by its
/// `TemplateLimits`, but still up to about a second) must never hold the cooperative threads that answer every other
/// request, `/v1/models` included. Not a concurrent DispatchQueue: on Linux it draws on the same few worker threads
/// (as many as cores) as Swift concurrency's executor, so sixteen slow templates there left the server without an
/// answer to anything for seconds.
// Unchecked Sendable: its queue of jobs is guarded by its condition.
final class WorkerThreads: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var next = 0

    /// The server's threads for preparing requests.
    static let preparation = WorkerThreads(
        count: max(2, ProcessInfo.processInfo.activeProcessorCount), name: "serve.prepare")

    init(count: Int, name: String) {
        for i in 0..<count {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    /// Runs `work` on one of the preparation threads and returns its result.
    static func prepare<T>(_ work: @escaping () throws -> T) async throws -> T {
        let box = UncheckedBox(work)
        let result: UncheckedBox<T> = try await withCheckedThrowingContinuation { continuation in
            preparation.run { continuation.resume(with: Result { UncheckedBox(try box.value()) }) }
        }
        return result.value
    }

    /// Queues `job` for the next free thread.
    func run(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            if next == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            job()
        }
    }
}

/// Carries a value the compiler cannot prove sendable across the hop to the preparation threads; each is used by
/// one side at a time (the closure runs once, and its result is read after it finished).
// Unchecked Sendable: its value is used by one side of the hop at a time.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
