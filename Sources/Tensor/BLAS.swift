#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
import Glibc
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
    /// The OpenBLAS kernel family in use (e.g. "Haswell", "SkylakeX"); "Accelerate" on Apple platforms.
    public static var coreName: String {
        _ = ready
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return String(cString: openblas_get_corename())
        #endif
    }

    /// Done once before the first product: when OpenBLAS did not recognise the CPU (virtual machines often hide
    /// the model) it runs its generic SSE3 kernels at a quarter of the speed, so pick the kernels from the CPU's
    /// feature flags instead, unless the user chose with OPENBLAS_CORETYPE.
    static let ready: Void = {
        #if os(Linux) && arch(x86_64)
        let current = String(cString: openblas_get_corename()).lowercased()
        guard ["prescott", "core2", "nehalem", "unknown"].contains(current), getenv("OPENBLAS_CORETYPE") == nil,
              let flagsLine = firstLine(of: "/proc/cpuinfo", startingWith: "flags")
        else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let core: String
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) {
            core = "SkylakeX"
        } else if flags.isSuperset(of: ["avx2", "fma"]) {
            core = "Haswell"
        } else {
            return
        }
        setenv("OPENBLAS_CORETYPE", core, 1)
        gotoblas_dynamic_quit()
        gotoblas_dynamic_init()
        #endif
    }()

    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = ready
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

#if os(Linux)
/// The first line of a text file that starts with `prefix`, read with stdio (this layer has no Foundation).
func firstLine(of path: String, startingWith prefix: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0, let line {
        let text = String(cString: line)
        if text.hasPrefix(prefix) { return text.trimmingSuffix("\n") }
    }
    return nil
}

private extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
#endif
