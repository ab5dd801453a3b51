import ArgumentParser
import Common
import Foundation
import JSON
import Tensor

/// `text2grad bench memory`: the machine's memory read bandwidth, the bound of a decode step that reads every
/// weight once.
struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Memory read bandwidth with 1 and 2 threads: a buffer far larger than the caches, summed with SIMD loads (prints JSON).")

    @Option(help: "Buffer size in MiB (many times the last-level cache).") var mebibytes: Int = 1024
    @Option(help: "Timed passes per thread count (the best is the bandwidth; min, median and max are reported).")
    var iterations: Int = 5
    @OptionGroup var threads: BenchThreadCounts

    func validate() throws {
        guard (16...65_536).contains(mebibytes) else { throw ValidationError("--mebibytes must be in 16...65536") }
        guard (1...1000).contains(iterations) else { throw ValidationError("--iterations must be in 1...1000") }
    }

    func run() throws {
        let count = mebibytes << 18
        let buffer = allocateFloats(count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = Float(i & 1023) }
        var results: [JSONValue] = []
        for n in threads.counts {
            Parallel.threadCount = n
            // One pass more than asked and left out: the first is slowed by the pages' first touch.
            let (seconds, checksum) = Self.passes(buffer, count: count, passes: iterations + 1)
            let timed = BenchSeconds(seconds.all.dropFirst())
            results.append(timed.fields.merging([
                "threads": JSONValue(n), "gb_per_s": JSONValue(Double(count * 4) / timed.min / 1e9),
                "best_seconds": JSONValue(timed.min), "checksum": JSONValue(Double(checksum)),
            ]))
        }
        try StandardOutput.line(
            JSONLines.encode(["bench": "memory", "bytes": JSONValue(count * 4), "read": .array(results)]))
    }

    /// The seconds of each of `passes` sums of the buffer with the engine's current thread count (the fastest
    /// is the bandwidth), and the last sum (so the loads cannot be optimised away).
    static func passes(_ buffer: UnsafeMutablePointer<Float>, count: Int, passes: Int)
        -> (seconds: BenchSeconds, checksum: Float)
    {
        var times: [Double] = [], checksum: Float = 0
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            checksum = sum(buffer, count: count)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return (BenchSeconds(times), checksum)
    }

    /// Σ buffer over `Parallel.threadCount` threads: four independent 16-wide accumulators per thread keep
    /// enough loads in flight to reach the bandwidth.
    static func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) -> Float {
        let chunks = max(1, Parallel.threadCount)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks)
        partial.initialize(repeating: 0, count: chunks)
        defer { partial.deallocate() }
        Parallel.split(count, into: chunks, on: .dispatch) { chunk, range in
            let start = range.lowerBound, end = range.upperBound
            let raw = UnsafeRawPointer(buffer)
            var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
            var i = start
            while i &+ 64 <= end {
                a += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
                b += raw.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD16<Float>.self)
                c += raw.loadUnaligned(fromByteOffset: (i &+ 32) &* 4, as: SIMD16<Float>.self)
                d += raw.loadUnaligned(fromByteOffset: (i &+ 48) &* 4, as: SIMD16<Float>.self)
                i &+= 64
            }
            var total = (a + b + c + d).sum()
            while i < end { total += buffer[i]; i += 1 }
            partial[chunk] = total
        }
        return (0..<chunks).reduce(Float(0)) { $0 + partial[$1] }
    }
}
