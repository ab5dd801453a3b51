import ArgumentParser
import CodeSandbox
import Common
import Evaluation
import Foundation

/// `text2grad eval code`: pass@k of samples run against their tasks' tests in the sandbox.
struct EvalCode: AsyncParsableCommand, ConfiguredCommand {
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

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Sandbox") var sandbox: SandboxOptions<EvalCode>

    @Option(help: "Task file (.jsonl, .jsonl.gz or a JSON list).")
    var tasks: String?

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

    @Option(name: [.short, .long], help: ArgumentHelp("Samples run at the same time." + Self.defaultNote(\.jobs)))
    var jobs: Int?

    @Option(name: .customLong("k"), help: ArgumentHelp("A k for pass@k (repeatable); reported where every task has k "
                                                       + "samples." + Self.defaultNote(\.k)))
    var k: [Int] = []

    @Option(name: .customLong("timeout"), help: .hidden) var timeout: Double?
    @Option(name: .customLong("cpu-seconds"), help: .hidden) var cpuSeconds: Int?
    @Option(name: .customLong("memory-mb"), help: .hidden) var memoryMb: Int?
    @Option(name: .customLong("disk-mb"), help: .hidden) var diskMb: Int?

    func validate() throws {
        guard !(resume && overwrite) else { throw ValidationError("--resume and --overwrite exclude each other") }
    }

    func resolvedConfig() throws -> EvalCodeConfig {
        try Self.resolve(file: file.config) { c in
            c.sandbox.wallSeconds = timeout ?? c.sandbox.wallSeconds
            c.sandbox.cpuSeconds = cpuSeconds ?? c.sandbox.cpuSeconds
            c.sandbox.memoryMB = memoryMb ?? c.sandbox.memoryMB
            c.sandbox.diskMB = diskMb ?? c.sandbox.diskMB
            sandbox.apply(to: &c)
            c.override(\.tasks, tasks)
            c.override(\.samples, samples)
            if reference { c.reference = true }
            c.override(\.output, output)
            if resume { c.resume = true }
            if overwrite { c.overwrite = true }
            c.override(\.jobs, jobs)
            if !k.isEmpty { c.k = k }
        }
    }

    func run() async throws {
        let c = try resolvedConfig()
        if let output = c.output, FileManager.default.fileExists(atPath: output), !c.resume, !c.overwrite {
            throw ValidationError("\(output) exists; pass --resume to continue it or --overwrite to start over")
        }
        if let output = c.output, c.overwrite { try? FileManager.default.removeItem(atPath: output) }
        // What the machine allowed (namespaces, process limit), as `annotate --task code` reports it.
        let isolation = SandboxIsolation.current
        note(isolation.isComplete ? "\(isolation)" : "warning: \(isolation)")
        do {
            let taskList = try CodeProblem.read(path: c.tasks)
            let sampleList = c.reference ? CodeSample.references(for: taskList) : try CodeSample.read(path: c.samples!)
            let config = CodeEvaluationConfig(limits: c.sandbox, jobs: c.jobs, resultsPath: c.output, ks: c.k)
            let total = sampleList.count
            let counter = Counter()
            let isReference = c.reference
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
            if c.reference && results.contains(where: { !$0.passed }) {
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
// Unchecked Sendable: its count is read and written under its lock.
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
