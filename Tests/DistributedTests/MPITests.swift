import Distributed
import Foundation
import SafeTensors
import Testing
import TestSupport
import Training

let mpirunPath = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
let mpiTestsCanRun = Distributed.isAvailable && mpirunPath != nil

/// `mpirun -np 2 text2grad sft|train-policy` as a user runs them, against the same command in one process: the
/// same losses and final weights within floating-point reordering; a killed rank ends the job; ranks started
/// with different settings stop at once with an error; a 2-rank run resumes on 2 ranks. Needs the MPI build
/// (`swift test --traits MPI`, which `make test` uses) and Open MPI's `mpirun`.
@Suite(.serialized, .enabled(if: mpiTestsCanRun, "needs the MPI trait and mpirun"))
struct MPITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let mpirun = mpirunPath

    static func executable() throws -> String {
        try #require(text2gradExecutable(), "build the text2grad executable first").path
    }

    /// A scratch directory with SFT data and PPO prompts from the built-in task's kind of posts.
    static func workspace(_ name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "mpi-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let posts = ["My name is Ben. I work as a nurse. I moved to Zurich in December with my parrot, Rex.",
                     "Hi all, I am Ida. I am 60 years old. In March I moved to Seville. I live with my turtle, Pico.",
                     "Hello, Oscar here. I work as an accountant. I moved to Milan in March. Any advice on finding a flat?",
                     "I am Tom, a 41-year-old baker. I moved to Oslo in May with my dog, Max."]
        func jsonl(_ objects: [[String: Any]]) throws -> String {
            try objects.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self) }
                .joined(separator: "\n") + "\n"
        }
        try jsonl(posts.enumerated().map { ["id": "p\($0)", "prompt": "Summarize the post in one sentence.\n\n" + $1] })
            .write(toFile: directory + "/prompts.jsonl", atomically: true, encoding: .utf8)
        // Examples of different lengths, so the ranks' shares pad differently.
        try jsonl((0..<22).map { i in
            let post = posts[i % posts.count]
            return ["prompt": "Summarize: " + post, "completion": String(post.prefix(12 + 3 * i)) + " (\(i))"]
        }).write(toFile: directory + "/sft.jsonl", atomically: true, encoding: .utf8)
        return directory
    }

    struct Finished {
        var status: Int32
        var stderr: String
    }

    /// `mpirun`'s own options: oversubscribed (CI may have fewer slots than ranks), and as root when it is root.
    static var launcherOptions: [String] { ["--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) }

    /// Runs `arguments` under `mpirun -np ranks` (or directly when `ranks` is nil), killing it after `timeout`.
    static func run(_ arguments: [String], ranks: Int?, timeout: Double = 240, whileRunning: ((Process) -> Void)? = nil) throws -> Finished {
        if let ranks {
            return try launch(mpirun!, launcherOptions + ["-np", "\(ranks)", try executable()] + arguments,
                              timeout: timeout, whileRunning: whileRunning)
        }
        return try launch(try executable(), arguments, timeout: timeout, whileRunning: whileRunning)
    }

    /// Runs `program` with `arguments`, collecting its standard error, killing it after `timeout`.
    static func launch(_ program: String, _ arguments: [String], timeout: Double, whileRunning: ((Process) -> Void)? = nil) throws -> Finished {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let errors = Pipe()
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let collected = ErrorText()
        let reader = Thread { collected.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        whileRunning?(p)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let hung = p.isRunning
        if hung { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        while !collected.done { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!hung, "\(program) \(arguments.joined(separator: " ")) did not end within \(timeout) s")
        return Finished(status: p.terminationStatus, stderr: collected.text)
    }

    // Unchecked Sendable: its data is read and written under its lock.
    final class ErrorText: @unchecked Sendable {
        private let lock = NSLock()
        private var data: Data?
        func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
        var done: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data ?? Data(), as: UTF8.self) }
    }

    /// Every float of every tensor of the newest checkpoint's safetensors files, by file and tensor name.
    static func finalWeights(_ run: String) throws -> [String: [Float]] {
        let checkpoints = run + "/checkpoints"
        let newest = try FileManager.default.contentsOfDirectory(atPath: checkpoints).filter { $0.hasPrefix("step-") }
            .max { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! }
        let directory = checkpoints + "/" + (try #require(newest))
        var out: [String: [Float]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".safetensors") {
            let tensors = try SafeTensorsFile(path: directory + "/" + file)
            for info in tensors.tensors { out[file + ":" + info.name] = try tensors.floats(info.name) }
        }
        return out
    }

    /// Each logged figure (but wall times) of both runs agrees within `relative` (of max(|a|, floor)).
    static func expectSameMetrics(_ a: String, _ b: String, steps: Int, relative: Double, floor: Double = 1e-2) throws {
        let x = try MetricsLog.records(path: a + "/metrics.jsonl"), y = try MetricsLog.records(path: b + "/metrics.jsonl")
        // Steps 1...steps, and PPO's evaluation before the first step (step 0).
        #expect(x.keys.filter { $0 > 0 }.count == steps && x.keys.sorted() == y.keys.sorted())
        var compared = 0
        for step in x.keys.sorted() {
            for (key, value) in x[step, default: [:]] where !key.hasPrefix("time/") && key != "seconds" && !value.isNaN {
                let other = try #require(y[step]?[key], "step \(step): \(key) missing from the 2-rank run")
                #expect(abs(value - other) <= relative * max(abs(value), floor), "step \(step) \(key): \(value) vs \(other)")
                compared += 1
            }
        }
        #expect(compared >= steps * 3)
    }

    static func expectSameWeights(_ a: String, _ b: String, tolerance: Float) throws {
        let x = try finalWeights(a), y = try finalWeights(b)
        #expect(!x.isEmpty && Set(x.keys) == Set(y.keys))
        var worst: Float = 0
        for (name, values) in x {
            let other = try #require(y[name])
            #expect(values.count == other.count)
            for (u, v) in zip(values, other) { worst = max(worst, abs(u - v)) }
        }
        #expect(worst <= tolerance, "largest weight difference \(worst)")
    }

    static func sft(_ directory: String, output: String, seed: Int = 3, steps: Int = 4) -> [String] {
        ["sft", "--model", fixtures.appendingPathComponent("models/chat-smollm").path, "--data", directory + "/sft.jsonl",
         "--output", directory + "/" + output, "--steps", "\(steps)", "--batch-size", "5", "--gradient-accumulation", "2",
         "--lora-rank", "4", "--learning-rate", "1e-2", "--eval-every", "2", "--save-every", "1", "--seed", "\(seed)",
         "--threads", "1"]
    }

    @Test func sftOnTwoRanksMatchesOneProcess() throws {
        let directory = try Self.workspace("sft")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try Self.run(Self.sft(directory, output: "one"), ranks: nil).status == 0)
        let two = try Self.run(Self.sft(directory, output: "two"), ranks: 2)
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stderr.contains("data parallel over 2 ranks"))
        #expect(!two.stderr.contains("rank 1"), "only rank 0 speaks")
        try Self.expectSameMetrics(directory + "/one", directory + "/two", steps: 4, relative: 1e-5)
        try Self.expectSameWeights(directory + "/one", directory + "/two", tolerance: 1e-5)
        let record = try #require(try MetricsLog.records(path: directory + "/two/metrics.jsonl")[1])
        #expect(record["time/allreduce"] != nil, "the all-reduce time is logged per step")
    }

    @Test func ppoOnTwoRanksMatchesOneProcess() throws {
        let directory = try Self.workspace("ppo")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func arguments(_ output: String) -> [String] {
            ["train-policy", "--model", Self.fixtures.appendingPathComponent("models/chat-smollm").path,
             "--prompts", directory + "/prompts.jsonl", "--eval-prompts", directory + "/prompts.jsonl", "--reward", "builtin",
             "--output", directory + "/" + output, "--steps", "2", "--batch-size", "4", "--mini-batch-size", "3",
             "--ppo-epochs", "2", "--max-new-tokens", "6", "--lora-rank", "4", "--learning-rate", "5e-3", "--kl-target", "1",
             "--eval-every", "2", "--seed", "5", "--threads", "1"]
        }
        #expect(try Self.run(arguments("one"), ranks: nil).status == 0)
        let two = try Self.run(arguments("two"), ranks: 2)
        #expect(two.status == 0, "\(two.stderr)")
        try Self.expectSameMetrics(directory + "/one", directory + "/two", steps: 2, relative: 1e-4)
        try Self.expectSameWeights(directory + "/one", directory + "/two", tolerance: 1e-4)
        let samples = try String(contentsOfFile: directory + "/two/samples.jsonl", encoding: .utf8)
        let lines = samples.split(separator: "\n")
        #expect(lines.filter { !$0.contains("\"split\":\"eval\"") }.count == 2 * 2, "rank 0 writes the samples of its own rows")
        #expect(lines.filter { $0.contains("\"split\":\"eval\"") }.count == 2, "and the first held-out response at steps 0 and 2")
    }

    @Test func aKilledRankEndsTheJobAndTwoRanksResume() throws {
        let directory = try Self.workspace("kill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try Self.run(Self.sft(directory, output: "straight", steps: 6), ranks: 2).status == 0)
        let metrics = directory + "/killed/metrics.jsonl"
        let killed = try Self.run(Self.sft(directory, output: "killed", steps: 6) + ["--step-delay", "0.5"], ranks: 2, timeout: 120) { launcher in
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline, (try? MetricsLog.records(path: metrics).count) ?? 0 < 2 { Thread.sleep(forTimeInterval: 0.05) }
            // Rank 1: the launcher's second text2grad child.
            let ranks = Self.children(of: launcher.processIdentifier)
            if ranks.count == 2 { kill(ranks.max()!, SIGKILL) }
        }
        #expect(killed.status != 0, "a job with a dead rank fails")
        let logged = try MetricsLog.records(path: metrics).count
        #expect((2..<6).contains(logged), "killed after \(logged) steps")
        let resumed = try Self.run(Self.sft(directory, output: "killed", steps: 6) + ["--resume"], ranks: 2)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming after step"))
        try Self.expectSameMetrics(directory + "/straight", directory + "/killed", steps: 6, relative: 0)
        try Self.expectSameWeights(directory + "/straight", directory + "/killed", tolerance: 0)
    }

    @Test func ranksWithDifferentSettingsStopAtOnce() throws {
        let directory = try Self.workspace("mismatch")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = try Self.executable()
        // One launch, two programs (MPMD): the same command but for the seed.
        let started = Date()
        let mismatched = try Self.launch(Self.mpirun!, Self.launcherOptions + ["-np", "1", binary] + Self.sft(directory, output: "m", seed: 1)
            + [":", "-np", "1", binary] + Self.sft(directory, output: "m", seed: 2), timeout: 60)
        #expect(mismatched.status == 3)
        #expect(mismatched.stderr.contains("the ranks differ in their configuration or data"), "\(mismatched.stderr)")
        #expect(Date().timeIntervalSince(started) < 60)
        let logged = (try? MetricsLog.records(path: directory + "/m/metrics.jsonl").count) ?? 0
        #expect(logged == 0, "no step ran")
    }

    /// The process ids whose parent is `pid` (from /proc).
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }
}
