import Dispatch

/// Work splitting for the kernels that are not matrix products.
///
/// Two threads pay off only above ~0.3 ms of work (measured on the 2-core machines this runs on), so callers give an
/// estimate of the work per item and small jobs run inline.
public enum Parallel {
    /// Threads the engine's own loops may use (BLAS has its own setting).
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
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            body(start..<end)
        }
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
