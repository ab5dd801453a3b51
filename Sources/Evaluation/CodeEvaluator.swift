import CodeSandbox
import Foundation
import Spans

/// Settings of a pass@k run.
public struct CodeEvaluationConfig: Sendable {
    /// Limits for each sample's run (wall clock, CPU time, memory, processes).
    public var limits: SandboxLimits
    /// Samples run at the same time.
    public var jobs: Int
    /// The append-only results file; results already in it are kept and their samples not run again.
    public var resultsPath: String?
    /// The k of each pass@k to report (where every task has at least k samples).
    public var ks: [Int]
    /// Characters kept from the end of stdout and stderr in each result.
    public var tailCharacters: Int

    /// Limits suited to benchmark tasks: 10 s of wall clock, 5 s of CPU, 1 GiB of memory per sample.
    public init(
        limits: SandboxLimits = CodeEvaluationConfig.defaultLimits, jobs: Int = 2, resultsPath: String? = nil,
        ks: [Int] = [1, 10, 100], tailCharacters: Int = 2000
    ) {
        self.limits = limits
        self.jobs = jobs
        self.resultsPath = resultsPath
        self.ks = ks
        self.tailCharacters = tailCharacters
    }

    /// The default per-sample limits.
    public static var defaultLimits: SandboxLimits {
        var limits = SandboxLimits()
        limits.wallSeconds = 10
        limits.cpuSeconds = 5
        limits.memoryMB = 1024
        return limits
    }
}

/// What a pass@k run found.
public struct CodeReport: Codable, Sendable {
    /// Tasks with at least one sample.
    public var tasks: Int
    /// Tasks in the task file that no sample answered (left out of pass@k).
    public var tasksWithoutSamples: Int
    /// Samples in all.
    public var samples: Int
    /// Samples run by this invocation (the others came from the results file).
    public var evaluated: Int
    /// Samples that passed.
    public var passed: Int
    /// Samples per status.
    public var statuses: [String: Int]
    /// pass@k by name (`pass@1`, …), the mean over tasks of the unbiased estimator.
    public var passAtK: [String: Double]
    /// Wall time of this invocation.
    public var seconds: Double
    /// `evaluated / seconds`.
    public var samplesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case tasks, samples, evaluated, passed, statuses, seconds
        case tasksWithoutSamples = "tasks_without_samples"
        case passAtK = "pass_at_k"
        case samplesPerSecond = "samples_per_second"
    }
}

/// Runs samples against their tasks' tests in the sandbox, in parallel and resumably, and reports pass@k.
public struct CodeEvaluator: Sendable {
    /// The settings.
    public var config: CodeEvaluationConfig

    /// Creates an evaluator.
    public init(config: CodeEvaluationConfig) {
        precondition(config.jobs >= 1, "at least one job")
        self.config = config
    }

    /// Evaluates `samples` (each naming a task of `tasks`); `onResult` sees each new result as it lands.
    public func run(
        tasks: [CodeProblem], samples: [CodeSample], onResult: @escaping @Sendable (SampleResult) -> Void = { _ in }
    ) async throws -> (report: CodeReport, results: [SampleResult]) {
        let started = Date()
        let byID = Dictionary(tasks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for sample in samples where byID[sample.taskID] == nil {
            throw EvaluationError.input(
                detail: "sample \(sample.key) names task '\(sample.taskID)', not in the task file")
        }
        var done: [String: SampleResult] = [:]
        var appender: ResultAppender?
        if let path = config.resultsPath {
            for result in try ResultAppender.existing(path: path) { done[result.id] = result }
            appender = try ResultAppender(path: path)
        }
        let pending = samples.filter { done[$0.key] == nil }
        let sandbox = Sandbox(limits: config.limits)
        let tail = config.tailCharacters
        var fresh: [SampleResult] = []
        try await withThrowingTaskGroup(of: SampleResult.self) { group in
            var next = 0
            func launch() {
                guard next < pending.count else { return }
                let sample = pending[next]
                let task = byID[sample.taskID]!
                next += 1
                group.addTask { try await Self.evaluate(sample, task: task, sandbox: sandbox, tail: tail) }
            }
            for _ in 0..<min(config.jobs, pending.count) { launch() }
            while let result = try await group.next() {
                try await appender?.append(result)
                fresh.append(result)
                onResult(result)
                launch()
            }
        }
        await appender?.close()
        for result in fresh { done[result.id] = result }
        let results = samples.compactMap { done[$0.key] }
        let report = Self.report(
            tasks: tasks, samples: samples, results: results, evaluated: fresh.count,
            seconds: Date().timeIntervalSince(started), ks: config.ks)
        return (report, results)
    }

    /// One sample's run: the check program run in the sandbox, the outcome classified.
    static func evaluate(_ sample: CodeSample, task: CodeProblem, sandbox: Sandbox, tail: Int) async throws -> SampleResult
    {
        let solution = sample.answer.map(task.program(for:)) ?? task.referenceProgram
        let started = Date()
        let outcome: ExecutionResult
        do {
            outcome = try await sandbox.run(program: task.checkProgram(solution: solution))
        } catch {
            throw EvaluationError.sandbox(detail: "\(sample.key): \(error)")
        }
        let seconds = Date().timeIntervalSince(started)
        let status: SampleStatus
        // The CPU limit (ulimit -t sets soft and hard alike) ends a run with SIGXCPU or SIGKILL.
        if outcome.timedOut || outcome.exitCode == -SIGXCPU || outcome.exitCode == -SIGKILL {
            status = .timeout
        } else if outcome.exitCode == 0 {
            // Status 0 without the harness's proof: the program ended itself before its tests did.
            status = outcome.passed ? .passed : .exitedEarly
        } else if outcome.stdout.contains("MemoryError") || outcome.stderr.contains("MemoryError") {
            status = .memory
        } else if outcome.exitCode < 0 {
            status = .killed
        } else {
            status = .failed
        }
        return SampleResult(
            id: sample.key, taskID: sample.taskID, sample: sample.index, status: status, passed: status == .passed,
            exitCode: outcome.exitCode, timedOut: outcome.timedOut, seconds: (seconds * 1000).rounded() / 1000,
            stdoutTail: String(outcome.stdout.suffix(tail)), stderrTail: String(outcome.stderr.suffix(tail)))
    }

    /// Counts, statuses and pass@k over the tasks that have samples.
    static func report(
        tasks: [CodeProblem], samples: [CodeSample], results: [SampleResult], evaluated: Int, seconds: Double, ks: [Int]
    ) -> CodeReport {
        var perTask: [String: (samples: Int, correct: Int)] = [:]
        for result in results {
            var counts = perTask[result.taskID] ?? (0, 0)
            counts.samples += 1
            if result.passed { counts.correct += 1 }
            perTask[result.taskID] = counts
        }
        var statuses: [String: Int] = [:]
        for result in results { statuses[result.status.rawValue, default: 0] += 1 }
        let answered = Set(samples.map(\.taskID))
        let passAtK = PassAtK.summary(Array(perTask.values), ks: ks)
        return CodeReport(
            tasks: answered.count, tasksWithoutSamples: tasks.filter { !answered.contains($0.id) }.count,
            samples: results.count, evaluated: evaluated, passed: results.filter(\.passed).count, statuses: statuses,
            passAtK: Dictionary(uniqueKeysWithValues: passAtK.map { ("pass@\($0.key)", $0.value) }),
            seconds: (seconds * 1000).rounded() / 1000,
            samplesPerSecond: seconds > 0 ? Double(evaluated) / seconds : 0)
    }
}
