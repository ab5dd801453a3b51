import Dispatch

/// Work splitting for the kernels that are not matrix products (the products split with `forEachSlice`).
///
/// Two threads pay off only above ~0.3 ms of work (measured on the 2-core machines this runs on), so callers give an
/// estimate of the work per item and small jobs run inline.
public enum Parallel {
    /// Threads the engine's own loops may use (BLAS has its own setting).
    // nonisolated(unsafe): set between kernels (a command's `Compute.useThreads`, a benchmark's or test's thread
    // sweep), never while a loop reads it; a lock here would cost every kernel call.
    nonisolated(unsafe) public static var threadCount: Int = Compute.defaultThreadCount

    /// Calls `body(range)` over disjoint chunks covering 0..<count, in parallel when the total work is
    /// large enough. `costPerItem` is a rough count of float operations per item.
    @inline(__always)
    public static func forEachChunk(count: Int, costPerItem: Int, _ body: (Range<Int>) -> Void) {
        let threads = threadCount
        // ~1 GFLOP/s scalar lower bound → 300k operations ≈ 0.3 ms.
        if threads <= 1 || count < 2 || count &* costPerItem < 300_000 {
            body(0..<count)
            return
        }
        let chunks = min(threads, count)
        perform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            body(start..<end)
        }
    }

    /// `DispatchQueue.concurrentPerform` for the engine's loops, whose bodies are not `Sendable`: they write through
    /// raw pointers, each iteration only the part of the output it owns, and return before the call does.
    @inline(__always)
    public static func perform(iterations: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            // nonisolated(unsafe): the iterations write disjoint memory and all end before `perform` returns, which
            // Sendable checking cannot see through raw pointers.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: iterations) { body($0) }
        }
    }
}

/// Which threads run `forEachSlice`'s slices.
enum SliceThreads {
    /// Dispatch's workers, each running single-threaded BLAS (one thread pool for the whole engine instead of
    /// OpenBLAS's spinning one): the training products.
    case dispatch
    /// The decode pool (`spinningPerform`), awake between a decode step's many short products; the caller has
    /// already set BLAS to one thread (`BLAS.singleThreaded`).
    case spinning
}

/// Runs `body(start, end)` over slices covering 0..<count, split between the engine's threads when the product is
/// `large`: the one column (or row) split of every matrix product, training's and decoding's. Bounds are multiples
/// of `align` (a power of 2) but for the last end; no slice is narrower than 64. fp32 products split output columns
/// in multiples of 16, which keeps the kernels' vector loads aligned to their blocking; bf16 ones split rows
/// (multiples of 8, the kernel's panel height), so each thread packs only its rows of the input, and the weights it
/// packs whole cost a 1/rows share of its product.
func forEachSlice(
    of count: Int, large: Bool, align: Int, on threads: SliceThreads = .dispatch,
    _ body: @escaping (Int, Int) -> Void
) {
    let chunks = large ? min(Parallel.threadCount, max(1, count / 64)) : 1
    let run = { (chunk: Int) in
        let start = (count * chunk / chunks) & ~(align - 1)
        let end = chunk + 1 == chunks ? count : (count * (chunk + 1) / chunks) & ~(align - 1)
        if end > start { body(start, end) }
    }
    if chunks == 1 {
        run(0)
        return
    }
    switch threads {
    case .dispatch: BLAS.singleThreaded { Parallel.perform(iterations: chunks, run) }
    case .spinning: spinningPerform(chunks: chunks, run)
    }
}

/// Facts about the machine and the thread settings of the whole engine.
public enum Compute {
    public static var coreCount: Int {
        #if os(Linux)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return ProcessInfo.processInfo.activeProcessorCount
        #endif
    }
}

#if os(Linux)
import Glibc
#else
import Foundation
#endif

extension Compute {
    /// The engine's thread count until a command calls `useThreads`: every online core. Configurations default to
    /// the same number through Common's `Machine.defaultThreadCount` (Tensor sits below Common).
    public static var defaultThreadCount: Int { max(1, coreCount) }

    /// Sets both BLAS's and the engine's own thread counts.
    public static func useThreads(_ count: Int) {
        BLAS.setThreadCount(count)
        Parallel.threadCount = count
    }
}
