import Foundation
import Testing

/// `text2grad bench peak` through the executable: one JSON line with both kinds per thread count, and bad counts
/// refused as usage errors.
@Suite struct BenchPeakCLITests {
    @Test func printsEachKindPerThreadCount() throws {
        let (status, stdout, stderr) = try BadInputCLITests.launch([
            "bench", "peak", "--threads", "1,2", "--rounds", "200000", "--iterations", "1"])
        #expect(status == 0, "\(stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        let peaks = json?["peaks"] as? [[String: Any]] ?? []
        #expect(peaks.count == 4)
        #expect(Set(peaks.compactMap { $0["kind"] as? String }) == ["fp32_fma", "bf16_dot"])
        for peak in peaks {
            let available = peak["available"] as? Bool ?? false, gflops = peak["gflops"] as? Double ?? -1
            #expect(available == (gflops > 0), "\(peak)")
        }
        #if arch(x86_64)
        // Every x86-64 machine this runs on has AVX2 and FMA (a rate is measured, not asserted: a loaded machine's
        // debug build may run the loop at about 1 GFLOP/s).
        #expect(peaks.contains { $0["kind"] as? String == "fp32_fma" && $0["available"] as? Bool == true })
        #endif
    }

    @Test func refusesBadThreadCounts() throws {
        let (status, _, stderr) = try BadInputCLITests.launch(["bench", "peak", "--threads", "0"])
        #expect(status == 64, "\(stderr)")
        #expect(stderr.contains("--threads"))
    }
}
