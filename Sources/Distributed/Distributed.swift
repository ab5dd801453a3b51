import Foundation
import Training
#if MPI
import CMPI
#endif

/// Why data-parallel training could not start.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// Launched as one rank of several by a build without MPI.
    case noMPI(worldSize: Int)
    /// MPI itself failed (its error code).
    case mpi(operation: String, code: Int32)

    public var description: String {
        switch self {
        case let .noMPI(worldSize):
            return "this process is one of \(worldSize) ranks, but this text2grad was built without MPI: "
                + "build it with `make mpi` (Open MPI from libopenmpi-dev) and launch that binary"
        case let .mpi(operation, code):
            return "MPI \(operation) failed with error code \(code)"
        }
    }
}

/// Data parallelism for the training commands: whether this process is one rank of an MPI job, and the
/// reducer that sums gradients across the ranks.
public enum Distributed {
    /// Whether this binary was built with MPI (`swift build --traits MPI`, `make mpi`).
    public static var isAvailable: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// The number of ranks a launcher started, read from what Open MPI's `mpirun`, MPICH's Hydra and Slurm's PMI
    /// set in each rank's environment; nil when no launcher started this process. Under PMIx alone the size is
    /// only known after MPI starts (0).
    public static func launchedWorldSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
            if let value = environment[key].flatMap(Int.init), value > 0 { return value }
        }
        return environment["PMIX_RANK"] != nil ? 0 : nil
    }

    /// The reducer for this process: MPI's when a launcher started it (and the build has MPI), else one process.
    public static func reducer() throws -> GradientReducer {
        guard let size = launchedWorldSize() else { return LocalReducer() }
        #if MPI
        return try MPIReducer.shared()
        #else
        if size > 1 { throw DistributedError.noMPI(worldSize: size) }
        return LocalReducer()
        #endif
    }

    /// Runs `body` with this process's reducer. With several ranks, rank 0 alone writes files and shows progress;
    /// on success MPI is shut down in order, and on any error the error is printed with the rank and the whole job
    /// is ended, so the other ranks never wait forever in a sum.
    public static func run(_ body: (GradientReducer) throws -> Void) throws {
        let reducer = try reducer()
        do {
            try body(reducer)
        } catch TrainingError.replicasDisagree(let what, let reason) where reducer.worldSize > 1 {
            // Every rank found it at once: rank 0 says so and all leave in order.
            if reducer.rank == 0 {
                FileHandle.standardError.write(Data("error: \(TrainingError.replicasDisagree(what: what, reason: reason))\n".utf8))
            }
            finish(reducer)
            exit(3)
        } catch {
            guard reducer.worldSize > 1 else {
                finish(reducer)  // one rank (`mpirun -np 1`) still shuts MPI down before it exits
                throw error
            }
            abortJob(reducer, error)
        }
        finish(reducer)
    }

    static func abortJob(_ reducer: GradientReducer, _ error: Error) -> Never {
        let text = "\(error)"
        // ArgumentParser's exit codes carry no text: the command has already said why.
        if !(text.hasPrefix("ExitCode(")) {
            FileHandle.standardError.write(Data("text2grad rank \(reducer.rank) of \(reducer.worldSize): error: \(text)\n".utf8))
        }
        #if MPI
        if let mpi = reducer as? MPIReducer { mpi.abort(code: 3) }
        #endif
        exit(3)
    }

    static func finish(_ reducer: GradientReducer) {
        #if MPI
        (reducer as? MPIReducer)?.finalize()
        #endif
    }
}

#if MPI
/// Sums over every rank of `MPI_COMM_WORLD` with `MPI_Allreduce` (in place, in chunks that fit MPI's 32-bit
/// counts). MPI starts once per process and serves calls from one thread at a time (the training loop's).
public final class MPIReducer: GradientReducer {
    public let rank: Int
    public let worldSize: Int
    public private(set) var communicationSeconds: Double = 0
    private var finalized = false
    // nonisolated(unsafe): read and written only under `lock`.
    nonisolated(unsafe) private static var instance: MPIReducer?
    private static let lock = NSLock()

    /// The process's reducer, starting MPI on first use.
    public static func shared() throws -> MPIReducer {
        lock.lock()
        defer { lock.unlock() }
        if let instance { return instance }
        let status = t2g_mpi_init()
        guard status == MPI_SUCCESS else { throw DistributedError.mpi(operation: "MPI_Init_thread", code: status) }
        let made = MPIReducer(rank: Int(t2g_mpi_rank()), worldSize: Int(t2g_mpi_size()))
        instance = made
        return made
    }

    private init(rank: Int, worldSize: Int) {
        self.rank = rank
        self.worldSize = worldSize
    }

    /// MPI's largest count per call.
    static let chunk = Int(Int32.max)

    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        timed {
            var start = 0
            while start < count {
                let n = min(Self.chunk, count - start)
                check(t2g_mpi_sum_float(buffer + start, Int32(n)), "MPI_Allreduce")
                start += n
            }
        }
    }

    public func sum(_ values: inout [Double]) {
        guard !values.isEmpty else { return }
        timed {
            values.withUnsafeMutableBufferPointer { p in
                check(t2g_mpi_sum_double(p.baseAddress!, Int32(p.count)), "MPI_Allreduce")
            }
        }
    }

    public func agree(_ value: UInt64) -> Bool {
        var smallest: UInt64 = 0, largest: UInt64 = 0
        check(t2g_mpi_min_max(value, &smallest, &largest), "MPI_Allreduce")
        return smallest == largest
    }

    /// Ends every rank with `code`.
    func abort(code: Int32) -> Never {
        t2g_mpi_abort(code)
        exit(code)
    }

    /// Shuts MPI down (once); every rank calls it at the end of a successful run.
    func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = t2g_mpi_finalize()
    }

    private func timed(_ work: () -> Void) {
        let start = Date()
        work()
        communicationSeconds += Date().timeIntervalSince(start)
    }

    /// MPI's default handler already ends the job on an error; this covers a handler that returns instead.
    private func check(_ status: Int32, _ operation: String) {
        guard status == MPI_SUCCESS else {
            FileHandle.standardError.write(Data("text2grad rank \(rank): \(DistributedError.mpi(operation: operation, code: status))\n".utf8))
            abort(code: 3)
        }
    }
}
#endif
