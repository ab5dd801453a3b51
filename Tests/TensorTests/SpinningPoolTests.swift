import Foundation
import Testing

@testable import Tensor

/// The decode steps' thread pool: every chunk of every product runs exactly once, however the chunks are
/// claimed, when a thread is slow, and when two callers use the pool at once.
@Suite struct SpinningPoolTests {
    /// Runs `products` products of 1…`maxChunks` chunks on `pool` and returns the first chunk count whose
    /// chunks did not each run exactly once (nil when all did). `slow` chunks sleep, as a descheduled thread.
    func firstWrongProduct(_ pool: SpinningPool, products: Int, maxChunks: Int, slow: @escaping (Int, Int) -> Bool) -> Int? {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: maxChunks)
        defer { counts.deallocate() }
        for product in 0..<products {
            let chunks = 1 + product % maxChunks
            counts.initialize(repeating: 0, count: maxChunks)
            pool.run(chunks: chunks) { chunk in
                if slow(product, chunk) { usleep(200) }
                counts[chunk] += 1  // each chunk writes only its own slot
            }
            if (0..<maxChunks).contains(where: { counts[$0] != ($0 < chunks ? 1 : 0) }) { return chunks }
        }
        return nil
    }

    @Test("every chunk runs once, with more chunks than threads and with a slow thread")
    func everyChunkOnce() {
        let pool = SpinningPool(workers: max(1, Compute.coreCount - 1))
        #expect(firstWrongProduct(pool, products: 3000, maxChunks: 20, slow: { _, _ in false }) == nil)
        // Chunk 1 is slow in every 7th product: the others claim what is left instead of waiting for it.
        #expect(firstWrongProduct(pool, products: 300, maxChunks: 9, slow: { product, chunk in product % 7 == 0 && chunk == 1 }) == nil)
    }

    @Test("two callers at once: the second is served by dispatch, both complete and correct")
    func twoCallers() async {
        let pool = SpinningPool(workers: 1)
        let results = await withTaskGroup(of: Int?.self) { group in
            for _ in 0..<2 {
                group.addTask { self.firstWrongProduct(pool, products: 2000, maxChunks: 6, slow: { _, _ in false }) }
            }
            return await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        #expect(results.count == 2 && results.allSatisfy { $0 == nil })
    }

    /// The caller and its worker pinned to one core, as on a machine whose other core is taken: the caller must
    /// not wait for a worker that cannot run while it spins (every product used to wait for every worker to look
    /// at it: a scheduler slice, milliseconds, per product).
    @Test("a worker sharing the caller's core does not hold products up")
    func workerOnTheCallersCore() throws {
        #if os(Linux)
        // sched_{get,set}affinity are GNU extensions Swift's Glibc module leaves out: found by name.
        typealias Affinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
        let get = unsafeBitCast(try #require(dlsym(nil, "sched_getaffinity")), to: Affinity.self)
        let set = unsafeBitCast(try #require(dlsym(nil, "sched_setaffinity")), to: Affinity.self)
        var saved = [UInt64](repeating: 0, count: 16), pinned = [UInt64](repeating: 0, count: 16)
        try #require(saved.withUnsafeMutableBytes { get(0, $0.count, $0.baseAddress!) } == 0)
        let cpu = try #require((0..<1024).first { saved[$0 / 64] & (1 << UInt64($0 % 64)) != 0 })
        pinned[cpu / 64] = 1 << UInt64(cpu % 64)
        // This thread, and the worker it starts below.
        try #require(pinned.withUnsafeMutableBytes { set(0, $0.count, $0.baseAddress!) } == 0)
        defer { _ = saved.withUnsafeMutableBytes { set(0, $0.count, $0.baseAddress!) } }
        let pool = SpinningPool(workers: 1)
        let start = DispatchTime.now().uptimeNanoseconds
        #expect(firstWrongProduct(pool, products: 2000, maxChunks: 4, slow: { _, _ in false }) == nil)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(seconds < 2, "2,000 tiny products on one shared core took \(seconds) s")
        #endif
    }

    @Test("a pool without workers runs the chunks on the caller")
    func noWorkers() {
        #expect(firstWrongProduct(SpinningPool(workers: 0), products: 50, maxChunks: 5, slow: { _, _ in false }) == nil)
    }
}
