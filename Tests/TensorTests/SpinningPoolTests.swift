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

    @Test("a pool without workers runs the chunks on the caller")
    func noWorkers() {
        #expect(firstWrongProduct(SpinningPool(workers: 0), products: 50, maxChunks: 5, slow: { _, _ in false }) == nil)
    }
}
