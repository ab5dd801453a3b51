import Dispatch

/// The engine's one way of splitting work over threads: `split` cuts 0..<count into near-equal chunks and runs
/// them on one of two sets of threads (`Threads`). The products split with `forEachSlice`, the other kernels with
/// `forEachChunk`, and the decode step's attention calls `split` itself: all three through the same bounds.
///
/// Two threads pay off only above ~0.3 ms of work (measured on the 2-core machines this runs on), so callers give an
/// estimate of the work per item and small jobs run inline.
public enum Parallel {
    /// Threads the engine's own loops may use (BLAS has its own setting).
    // nonisolated(unsafe): set between kernels (a command's `Compute.useThreads`, a benchmark's or test's thread
    // sweep), never while a loop reads it; a lock here would cost every kernel call.
    nonisolated(unsafe) public static var threadCount: Int = Compute.defaultThreadCount

    /// Which threads run a split's chunks.
    public enum Threads: Sendable {
        /// Dispatch's workers: training's kernels and products (whose BLAS calls then run single-threaded, one
        /// thread pool for the whole engine instead of OpenBLAS's spinning one).
        case dispatch
        /// The decode pool (`spinningPerform`), awake between a decode step's many short kernels; the caller has
        /// already set BLAS to one thread (`BLAS.singleThreaded`).
        case spinning
    }

    /// Chunk `chunk` of `chunks` over 0..<count: bounds at multiples of `align` (a power of 2) but for the last
    /// end, so the chunks are disjoint and cover 0..<count (an aligned chunk may be empty).
    @inline(__always)
    static func bounds(_ chunk: Int, of chunks: Int, count: Int, align: Int = 1) -> Range<Int> {
        let start = (count * chunk / chunks) & ~(align - 1)
        let end = chunk + 1 == chunks ? count : (count * (chunk + 1) / chunks) & ~(align - 1)
        return start..<max(start, end)
    }

    /// Calls `body(chunk, range)` for chunks 0..<chunks of 0..<count (`bounds`), the calling thread taking part,
    /// and returns when all are done; empty chunks are skipped. One chunk runs inline.
    public static func split(
        _ count: Int, into chunks: Int, align: Int = 1, on threads: Threads,
        _ body: @escaping (_ chunk: Int, _ range: Range<Int>) -> Void
    ) {
        let run = { (chunk: Int) in
            let range = bounds(chunk, of: chunks, count: count, align: align)
            if !range.isEmpty { body(chunk, range) }
        }
        if chunks <= 1 {
            run(0)
            return
        }
        switch threads {
        case .dispatch: perform(iterations: chunks, run)
        case .spinning: spinningPerform(chunks: chunks, run)
        }
    }

    /// Calls `body(range)` over disjoint chunks covering 0..<count on dispatch's threads when the total work is
    /// large enough, inline otherwise. `costPerItem` is a rough count of float operations per item.
    @inline(__always)
    public static func forEachChunk(count: Int, costPerItem: Int, _ body: (Range<Int>) -> Void) {
        let threads = threadCount
        // ~1 GFLOP/s scalar lower bound → 300k operations ≈ 0.3 ms.
        if threads <= 1 || count < 2 || count &* costPerItem < 300_000 {
            body(0..<count)
            return
        }
        // Not `split`: `body` need not escape here, as dispatch's threads are done with it on return.
        let chunks = min(threads, count)
        perform(iterations: chunks) { chunk in
            body(bounds(chunk, of: chunks, count: count))
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

/// Runs `body(start, end)` over slices covering 0..<count, split between the engine's threads when the product is
/// `large`: the one column (or row) split of every matrix product, training's and decoding's. Bounds are multiples
/// of `align` (a power of 2) but for the last end; no slice is narrower than 64. fp32 products split output columns
/// in multiples of 16, which keeps the kernels' vector loads aligned to their blocking; bf16 ones split rows
/// (multiples of 8, the kernel's panel height), so each thread packs only its rows of the input, and the weights it
/// packs whole cost a 1/rows share of its product.
func forEachSlice(
    of count: Int, large: Bool, align: Int, on threads: Parallel.Threads = .dispatch,
    _ body: @escaping (Int, Int) -> Void
) {
    let chunks = large ? min(Parallel.threadCount, max(1, count / 64)) : 1
    let run = { (_: Int, range: Range<Int>) in body(range.lowerBound, range.upperBound) }
    if threads == .dispatch && chunks > 1 {
        BLAS.singleThreaded { Parallel.split(count, into: chunks, align: align, on: .dispatch, run) }
    } else {
        Parallel.split(count, into: chunks, align: align, on: threads, run)
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
