#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Matrix products through the platform BLAS (OpenBLAS on Linux, Accelerate on Apple platforms).
public enum BLAS {
    /// Sets the number of threads BLAS may use (OpenBLAS only; Accelerate manages its own).
    public static func setThreadCount(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(count))
        #endif
    }

    public static var threadCount: Int {
        #if canImport(Accelerate)
        return 1
        #else
        return Int(openblas_get_num_threads())
        #endif
    }

    /// Runs `body` with BLAS restricted to one thread, for callers that parallelise over many small products.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let saved = threadCount
        setThreadCount(1)
        defer { setThreadCount(saved) }
        return try body()
    }

    /// C (M, N) = alpha · op(A) · op(B) + beta · C, row-major; op(X) is Xᵀ when the flag is set.
    /// `lda`, `ldb`, `ldc` are row strides as stored (so a (T, NH, HS) buffer read per head has stride NH·HS).
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
