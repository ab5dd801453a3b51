import ArgumentParser
import CKernels
import Common
import Dispatch
import JSON
import Tensor

/// `text2grad bench peak`: the machine's arithmetic peak (fp32 fused multiply-adds, bf16 dot products) on 1 and
/// more threads, the roof against which `bench train` and `bench forward` state their GFLOP/s.
struct BenchPeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Arithmetic peak in GFLOP/s: fp32 FMA and bf16 dot products, per thread count (prints JSON).")

    @OptionGroup var threads: BenchThreadCounts
    @Option(help: "Rounds of the twelve chains per thread and pass.") var rounds: Int = 50_000_000
    @Option(help: "Timed passes per measurement (the best is reported).") var iterations: Int = 3

    func validate() throws {
        guard (1_000...10_000_000_000).contains(rounds) else {
            throw ValidationError("--rounds must be in 1000...1e10")
        }
        guard (1...100).contains(iterations) else { throw ValidationError("--iterations must be in 1...100") }
    }

    func run() throws {
        var results: [JSONValue] = []
        for (name, kind) in [("fp32_fma", T2G_PEAK_FP32_FMA), ("bf16_dot", T2G_PEAK_BF16_DOT)] {
            for n in threads.counts {
                // The fastest pass is the roof; every pass's seconds are reported as the other benches report them.
                var seconds: [Double] = [], flops = 0.0
                for _ in 0..<iterations {
                    let start = DispatchTime.now().uptimeNanoseconds
                    flops = Self.chains(kind: Int32(kind), rounds: rounds, threads: n)
                    seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    if flops == 0 { break }
                }
                let timed = BenchSeconds(seconds)
                results.append(timed.fields.merging([
                    "kind": JSONValue(name), "threads": JSONValue(n), "gflops": JSONValue(flops / timed.min / 1e9),
                    "available": JSONValue(flops > 0),
                ]))
            }
        }
        try StandardOutput.line(JSONLines.encode(["bench": "peak", "peaks": .array(results)]))
    }

    /// The operations done by `threads` threads each running `rounds` rounds of the chains at once.
    static func chains(kind: Int32, rounds: Int, threads: Int) -> Double {
        let done = UnsafeMutablePointer<Double>.allocate(capacity: threads)
        let sinks = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { done.deallocate(); sinks.deallocate() }
        Parallel.perform(iterations: threads) { t in done[t] = t2g_peak_chains(kind, rounds, sinks + t) }
        return (0..<threads).reduce(0) { $0 + done[$1] }
    }
}
