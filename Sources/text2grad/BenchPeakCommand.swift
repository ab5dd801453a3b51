import ArgumentParser
import CKernels
import Common
import Dispatch

/// `text2grad bench peak`: the machine's arithmetic peak (fp32 fused multiply-adds, bf16 dot products) on 1 and
/// more threads, the roof against which `bench train` and `bench forward` state their GFLOP/s.
struct BenchPeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Arithmetic peak in GFLOP/s: fp32 FMA and bf16 dot products, per thread count (prints JSON).")

    @Option(help: "Thread counts to measure, comma-separated.") var threads: String = "1,2"
    @Option(help: "Rounds of the twelve chains per thread and pass.") var rounds: Int = 50_000_000
    @Option(help: "Timed passes per measurement (the best is reported).") var iterations: Int = 3

    func validate() throws {
        guard (1_000...10_000_000_000).contains(rounds) else {
            throw ValidationError("--rounds must be in 1000...1e10")
        }
        guard (1...100).contains(iterations) else { throw ValidationError("--iterations must be in 1...100") }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ (1...256).contains($0) }) else {
            throw ValidationError("--threads must list counts in 1...256")
        }
    }

    var threadCounts: [Int] {
        threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func run() throws {
        var results: [[String: Any]] = []
        for (name, kind) in [("fp32_fma", T2G_PEAK_FP32_FMA), ("bf16_dot", T2G_PEAK_BF16_DOT)] {
            for n in threadCounts {
                var best = 0.0
                for _ in 0..<iterations {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let flops = Self.chains(kind: Int32(kind), rounds: rounds, threads: n)
                    guard flops > 0 else { break }
                    best = max(best, flops / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) / 1e9)
                }
                results.append(["kind": name, "threads": n, "gflops": best, "available": best > 0])
            }
        }
        try StandardOutput.line(try JSONLines.encode(["bench": "peak", "peaks": results]))
    }

    /// The operations done by `threads` threads each running `rounds` rounds of the chains at once.
    static func chains(kind: Int32, rounds: Int, threads: Int) -> Double {
        let done = UnsafeMutablePointer<Double>.allocate(capacity: threads)
        let sinks = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { done.deallocate(); sinks.deallocate() }
        DispatchQueue.concurrentPerform(iterations: threads) { t in done[t] = t2g_peak_chains(kind, rounds, sinks + t) }
        return (0..<threads).reduce(0) { $0 + done[$1] }
    }
}
