import Foundation
import Synchronization

/// Threads that stay awake between the many short products of a decode step.
///
/// A decode step at batch 1 is ~200 matrix–vector products of 50–400 µs each. Handing each to a dispatch
/// worker costs a wake-up (a futex and a scheduler hop, tens of µs on a VM) that eats what the second core
/// gains. The workers here spin on an atomic generation counter for `spinBudget` after their last job, so a
/// product that follows soon starts at once; past the budget they sleep on a condition and cost nothing.
///
/// The chunks are claimed from an atomic counter by the caller and the workers alike, so a thread that the
/// VM's scheduler delays leaves its share to the others instead of making them wait at the end of the product.
/// Every worker acknowledges every generation (those without a chunk too), so none can still be reading the
/// job when the caller publishes the next one.
///
/// One caller at a time: a second caller arriving while the pool is busy (two generators on two threads)
/// gets `DispatchQueue.concurrentPerform` instead, so it is never blocked or wrong, only slower.
@available(macOS 15.0, *)
public final class SpinningPool: @unchecked Sendable {
    /// The pool the decode kernels use: one worker per core beyond the caller's, at most 7.
    public static let shared = SpinningPool(workers: max(0, min(7, Compute.coreCount - 1)))

    /// How long an idle worker spins before it sleeps.
    public static let spinBudget: UInt64 = 2_000_000  // ns

    public let workerCount: Int
    private let generation = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let wake = NSCondition()
    // Written by the caller before it publishes a generation (release), read by workers after they see it (acquire).
    private var job: ((Int) -> Void)?
    private var jobChunks = 0

    init(workers: Int) {
        workerCount = workers
        for index in 0..<workers {
            let thread = Thread { [unowned self] in self.work(index: index) }
            thread.name = "text2grad-decode-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(chunk)` once for each chunk in 0..<chunks, the calling thread taking part, and returns when all
    /// are done. `body` is escaping because workers hold it (and release it when they like) while they run it.
    public func run(chunks: Int, _ body: @escaping (Int) -> Void) {
        guard workerCount > 0, chunks > 1 else {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
            return
        }
        job = body
        jobChunks = chunks
        finished.store(0, ordering: .relaxed)
        nextChunk.store(0, ordering: .relaxed)
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }
        claimChunks(chunks, body)
        while finished.load(ordering: .acquiring) < workerCount {}
        job = nil
        busy.store(false, ordering: .releasing)
    }

    private func work(index: Int) {
        var seen = 0
        while true {
            // Spin for the next generation, then sleep until one is published.
            var spinStart: UInt64 = 0
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins &+= 1
                if spins & 1023 == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if spinStart == 0 {
                        spinStart = now
                    } else if now &- spinStart > Self.spinBudget {
                        wake.lock()
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        wake.unlock()
                    }
                }
            }
            seen = generation.load(ordering: .acquiring)
            if let job { claimChunks(jobChunks, job) }
            finished.add(1, ordering: .releasing)
        }
    }

    /// Runs chunks not yet claimed by another thread until none is left.
    private func claimChunks(_ chunks: Int, _ body: (Int) -> Void) {
        while true {
            let chunk = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            guard chunk < chunks else { return }
            body(chunk)
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
        DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
    }
}
