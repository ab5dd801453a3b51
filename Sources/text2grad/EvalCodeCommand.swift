import ArgumentParser
import CodeSandbox
import Common
import Evaluation
import Foundation

/// `text2grad eval code`: pass@k of samples run against their tasks' tests in the sandbox.
struct EvalCode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code",
        abstract: "pass@k of code samples (HumanEval or MBPP format), each run in the sandbox.",
        discussion: """
            --tasks is a HumanEval-format (task_id, prompt, test, entry_point, canonical_solution) or MBPP-format \
            file (original: text, code, test_list, test_setup_code; sanitized: prompt, code, test_list, \
            test_imports), as JSONL, gzipped JSONL or a JSON list. --samples has "task_id" and "completion" (a \
            HumanEval body, or a chat answer whose fenced code is taken) or "solution" (a whole program) per line, \
            several per task allowed. --reference runs the task file's own solutions instead. Each sample runs as \
            the benchmark's own harness runs it (HumanEval: prompt, completion, test and check(entry_point) as one \
            script; MBPP: setup, code and the test_list asserts). A sample passes only if that script ran to its \
            end, which the sandbox's harness proves with a per-run secret the sample cannot see, so a program that \
            exits early, even with status 0, fails. An empty --samples file is an error. Results are appended to --output as each run ends; --resume \
            skips samples already there. The summary JSON goes to standard output. Exit status: 0, or 2 when \
            --reference finds a failing reference solution, 1 on an error.
            """)

    @Option(help: "Task file (.jsonl, .jsonl.gz or a JSON list).")
    var tasks: String

    @Option(help: "Samples file: task_id and completion or solution per record.")
    var samples: String?

    @Flag(help: "Evaluate the task file's own reference solutions.")
    var reference = false

    @Option(help: "Per-sample results, JSONL (append-only).")
    var output: String?

    @Flag(help: "Keep the results already in --output and run only the samples missing there.")
    var resume = false

    @Flag(help: "Empty --output first.")
    var overwrite = false

    @Option(name: [.short, .long], help: "Samples run at the same time.")
    var jobs: Int = 2

    @Option(help: "Wall-clock limit per sample, seconds.")
    var timeout: Double = 10

    @Option(help: "CPU-time limit per sample, seconds.")
    var cpuSeconds: Int = 5

    @Option(help: "Memory (address-space) limit per sample, MiB.")
    var memoryMb: Int = 1024

    @Option(help: "What a sample's working directory and its /tmp may each hold, MiB (tmpfs, off the host's disk).")
    var diskMb: Int = 64

    @Option(help: "Python interpreter.")
    var python: String = "python3"

    @Option(name: .customLong("k"), help: "A k for pass@k (repeatable); reported where every task has k samples.")
    var ks: [Int] = [1, 10, 100]

    func validate() throws {
        guard (samples != nil) != reference else {
            throw ValidationError("give exactly one of --samples and --reference")
        }
        guard jobs >= 1 && jobs <= 256 else { throw ValidationError("--jobs must be within 1...256") }
        guard timeout > 0 && timeout <= 3600 else {
            throw ValidationError("--timeout must be within (0, 3600] seconds")
        }
        guard cpuSeconds >= 1 && cpuSeconds <= 3600 else {
            throw ValidationError("--cpu-seconds must be within 1...3600")
        }
        guard memoryMb >= 64 && memoryMb <= 1 << 20 else {
            throw ValidationError("--memory-mb must be within 64...1048576")
        }
        guard diskMb >= 1 && diskMb <= 1 << 20 else { throw ValidationError("--disk-mb must be within 1...1048576") }
        guard ks.allSatisfy({ $0 >= 1 }) else { throw ValidationError("each --k must be at least 1") }
        guard !(resume && overwrite) else { throw ValidationError("--resume and --overwrite exclude each other") }
        if let output, FileManager.default.fileExists(atPath: output), !resume, !overwrite {
            throw ValidationError("\(output) exists; pass --resume to continue it or --overwrite to start over")
        }
    }

    func run() async throws {
        var limits = SandboxLimits()
        limits.wallSeconds = timeout
        limits.cpuSeconds = cpuSeconds
        limits.memoryMB = memoryMb
        limits.diskMB = diskMb
        limits.python = python
        if let output, overwrite { try? FileManager.default.removeItem(atPath: output) }
        // What the machine allowed (namespaces, process limit), as `annotate --task code` reports it.
        let isolation = SandboxIsolation.current
        note(isolation.isComplete ? "\(isolation)" : "warning: \(isolation)")
        do {
            let taskList = try CodeTask.read(path: tasks)
            let sampleList = reference ? CodeSample.references(for: taskList) : try CodeSample.read(path: samples!)
            let config = CodeEvaluationConfig(limits: limits, jobs: jobs, resultsPath: output, ks: ks)
            let total = sampleList.count
            let counter = Counter()
            let isReference = reference
            let (report, results) = try await CodeEvaluator(config: config).run(tasks: taskList, samples: sampleList) {
                result in
                let done = counter.increment()
                if done % 50 == 0 || result.status != .passed && isReference {
                    note("\(done) run (\(total) samples): \(result.id) \(result.status.rawValue)")
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try StandardOutput.write(try encoder.encode(report) + Data("\n".utf8))
            if reference && results.contains(where: { !$0.passed }) {
                note(
                    "reference solutions that fail: "
                        + results.filter { !$0.passed }.map(\.taskID).joined(separator: ", "))
                throw Exit.partial
            }
        } catch let error as EvaluationError {
            note("error: \(error)")
            throw Exit.failure
        } catch let error as FileError {
            note("error: \(error)")
            throw Exit.failure
        }
    }
}

/// A thread-safe count of finished samples, for progress lines.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
