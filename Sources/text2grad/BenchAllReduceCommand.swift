import ArgumentParser
import Common
import Distributed
import Foundation
import JSON
import Training

/// `mpirun -np N text2grad bench allreduce`: the time of one gradient sum of a given size across the ranks, with
/// the ranks lined up first, so it is the transfer alone (a training step's `time/allreduce` includes waiting).
struct BenchAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Seconds per in-place float sum across MPI ranks, for gradient sizes (run under mpirun; prints JSON).",
        discussion: "The default sizes are SmolLM-135M's trainable parameters under LoRA r 16 on q/k/v/o, LoRA r 16 "
            + "on all seven projections, and every weight.")

    @Option(help: "Floats per sum, comma-separated.") var floats: String = "1843200,4884480,134515008"
    @Option(help: "Timed sums per size (min, median and max are reported).") var iterations: Int = 5

    var sizes: [Int] { floats.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ (1...(1 << 32)).contains($0) }) else {
            throw ValidationError("--floats must list sizes in 1...\(1 << 32)")
        }
        guard (1...1000).contains(iterations) else { throw ValidationError("--iterations must be in 1...1000") }
    }

    func run() throws {
        try Distributed.run { reducer in
            guard reducer.worldSize > 1 else { throw ValidationError("run it under an MPI launcher: mpirun -np 2 text2grad bench allreduce") }
            var results: [JSONValue] = []
            for count in sizes {
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { buffer.deallocate() }
                buffer.initialize(repeating: 1, count: count)
                var times: [Double] = []
                for i in 0...iterations {
                    _ = reducer.agree(0)  // every rank arrives before the clock starts
                    let start = DispatchTime.now().uptimeNanoseconds
                    reducer.sum(buffer, count: count)
                    if i > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                }
                let seconds = BenchSeconds(times)
                results.append(seconds.fields.merging([
                    "floats": JSONValue(count), "megabytes": JSONValue(Double(count * 4) / 1e6),
                    "seconds": JSONValue(seconds.median),
                    "gb_per_s": JSONValue(Double(count * 4) / seconds.median / 1e9),
                ]))
            }
            if reducer.rank == 0 {
                try StandardOutput.line(JSONLines.encode(
                    ["bench": "allreduce", "ranks": JSONValue(reducer.worldSize), "sums": .array(results)]))
            }
        }
    }
}
