import Foundation
import Synchronization

/// Threads that stay awake between the many short products of a decode step.
///
/// A decode step at batch 1 is ~200 matrix–vector products of 50–400 µs each. Handing each to a dispatch
/// worker costs a wake-up (a futex and a scheduler hop, tens of µs on a VM) that eats what the second core
/// gains. The workers here spin on an atomic generation counter for `spinBudget` after their last job (yielding
/// the core to whoever else wants it), so a product that follows soon starts at once; past the budget they sleep
/// on a condition and cost nothing.
///
/// The chunks are claimed from one atomic ticket (the product's generation, its chunk count and the next
/// chunk) by the caller and the workers alike, and the caller waits only for the chunks to be done, not for
/// every worker to look: a worker that a shared core's scheduler delays finds, when it runs, a ticket of
/// another generation and claims nothing, so it never holds up a product it took no part in. The job a worker
/// runs is read after it claimed a chunk of that job's generation, and the caller replaces the job only once
/// every claimed chunk is done, so no worker can run a stale one.
///
/// One caller at a time: a second caller arriving while the pool is busy (two generators on two threads)
/// gets `DispatchQueue.concurrentPerform` instead, so it is never blocked or wrong, only slower.
// Unchecked Sendable: atomics and a condition; `job` is published through the ticket.
@available(macOS 15.0, *)
public final class SpinningPool: @unchecked Sendable {
    /// The pool the decode kernels use: one worker per core beyond the caller's, at most 7.
    public static let shared = SpinningPool(workers: max(0, min(7, Compute.coreCount - 1)))

    /// How long an idle worker spins before it sleeps.
    public static let spinBudget: UInt64 = 2_000_000  // ns

    /// The ticket's fields: generation (bits 40–63), chunk count (20–39), next chunk to claim (0–19).
    static let chunkBits = 20, chunkMask = (1 << 20) - 1, generationShift = 40

    public let workerCount: Int
    private let ticket = Atomic<Int>(0)
    /// Chunks of the current generation done.
    private let done = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let wake = NSCondition()
    // Written by the caller before it publishes a generation (release), read by a worker after it claimed a chunk
    // of that generation (acquire).
    private var job: ((Int) -> Void)?

    init(workers: Int) {
        workerCount = workers
        for index in 0..<workers {
            // The workers run for the life of the process and hold their pool: `shared` lives as long anyway, and
            // a pool made and dropped (tests) must not be freed under a worker that has not started yet.
            let thread = Thread { self.work() }
            thread.name = "text2grad-decode-\(index + 1)"
            thread.start()
        }
    }

    static func generation(of ticket: Int) -> Int { ticket >> generationShift }

    /// Runs `body(chunk)` once for each chunk in 0..<chunks, the calling thread taking part, and returns when all
    /// are done. `body` is escaping because workers hold it (and release it when they like) while they run it.
    public func run(chunks: Int, _ body: @escaping (Int) -> Void) {
        guard workerCount > 0, chunks > 1 else {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        guard chunks <= Self.chunkMask,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            Parallel.perform(iterations: chunks, body)
            return
        }
        job = body
        done.store(0, ordering: .relaxed)
        let generation = (Self.generation(of: ticket.load(ordering: .relaxed)) + 1) & ((1 << 23) - 1)
        ticket.store(generation << Self.generationShift | chunks << Self.chunkBits, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }
        claimChunks(generation: generation)
        // Chunks a worker claimed and has not finished: spin, then give the core away, in case the worker is
        // waiting for this one.
        var spins = 0
        while done.load(ordering: .acquiring) < chunks {
            spins &+= 1
            if spins > 2048 { sched_yield() }
        }
        job = nil
        busy.store(false, ordering: .releasing)
    }

    private func work() {
        var seen = 0
        while true {
            // Spin for the next generation, then sleep until one is published.
            var spinStart: UInt64 = 0
            var spins = 0
            while Self.generation(of: ticket.load(ordering: .acquiring)) == seen {
                spins &+= 1
                // Past the first spins, give the core to any thread that waits for it (the caller, when the two
                // share a core); on an idle core the yield returns at once.
                if spins > 1024 { sched_yield() }
                if spins & 1023 == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if spinStart == 0 {
                        spinStart = now
                    } else if now &- spinStart > Self.spinBudget {
                        wake.lock()
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while Self.generation(of: ticket.load(ordering: .sequentiallyConsistent)) == seen { wake.wait() }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        wake.unlock()
                    }
                }
            }
            seen = Self.generation(of: ticket.load(ordering: .acquiring))
            claimChunks(generation: seen)
        }
    }

    /// Runs chunks of `generation` not yet claimed by another thread until none is left (none at all when the
    /// caller has moved on to another generation).
    private func claimChunks(generation: Int) {
        var current = ticket.load(ordering: .relaxed)
        while true {
            let next = current & Self.chunkMask, chunks = (current >> Self.chunkBits) & Self.chunkMask
            guard Self.generation(of: current) == generation, next < chunks else { return }
            let (claimed, seen) = ticket.compareExchange(expected: current, desired: current + 1,
                                                         ordering: .acquiringAndReleasing)
            guard claimed else {
                current = seen
                continue
            }
            job!(next)
            done.add(1, ordering: .releasing)
            current = ticket.load(ordering: .relaxed)
        }
    }
}

/// Runs `body(chunk)` over 0..<chunks on the spinning pool where it exists (Linux, macOS 15+), else on dispatch.
@inline(__always)
public func spinningPerform(chunks: Int, _ body: @escaping (Int) -> Void) {
    if chunks <= 1 { body(0); return }
    if #available(macOS 15.0, *) {
        SpinningPool.shared.run(chunks: chunks, body)
    } else {
        Parallel.perform(iterations: chunks, body)
    }
}
