import Foundation
import Testing

/// `text2grad bench peak` through the executable: one JSON line with both kinds per thread count, and bad counts
/// refused as usage errors.
extension TrainPolicyKillTests {
    /// Runs the built executable to its end: exit status, standard output and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try URL(fileURLWithPath: executable())
        process.arguments = arguments
        let out = Pipe(), errors = Pipe()
        process.standardOutput = out
        process.standardError = errors
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }
}

@Suite struct BenchPeakCLITests {
    @Test func printsEachKindPerThreadCount() throws {
        let (status, stdout, stderr) = try TrainPolicyKillTests.run(["bench", "peak", "--threads", "1,2", "--rounds", "200000",
                                                     "--iterations", "1"])
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
        // Every x86-64 machine this runs on has AVX2 and FMA.
        #expect(peaks.contains { $0["kind"] as? String == "fp32_fma" && ($0["gflops"] as? Double ?? 0) > 1 })
        #endif
    }

    @Test func refusesBadThreadCounts() throws {
        let (status, _, stderr) = try TrainPolicyKillTests.run(["bench", "peak", "--threads", "0"])
        #expect(status == 64, "\(stderr)")
        #expect(stderr.contains("--threads"))
    }
}
