import CodeSandbox
import Foundation
import JSON

/// One candidate answer to evaluate: the task it answers, its place among that task's samples, the answer.
public struct CodeSample: Sendable, Equatable {
    /// The task's id.
    public var taskID: String
    /// 0-based position among the samples of the same task, in file order.
    public var index: Int
    /// The answer; nil means the task file's own reference solution (`--reference`).
    public var answer: SampleAnswer?

    /// The key of this sample's result line: task id and index.
    public var key: String { "\(taskID)#\(index)" }

    /// Creates a sample.
    public init(taskID: String, index: Int, answer: SampleAnswer?) {
        self.taskID = taskID
        self.index = index
        self.answer = answer
    }

    /// The largest samples file read, and the most a gzipped one may decompress to: 1 GiB.
    public static let maximumFileBytes = 1 << 30

    /// The samples of a samples file: `task_id` and `solution` (a whole program) or `completion` per record, at
    /// least one; the answer must be a JSON string and the text valid UTF-8.
    public static func read(path: String, maximumBytes: Int = maximumFileBytes) throws -> [CodeSample] {
        var counts: [String: Int] = [:]
        return try RecordFile.read(path: path, kind: "sample", maximumBytes: maximumBytes).map { record in
            let taskID = try record.requiredID("task_id")
            let answer: SampleAnswer
            if let solution = try record.text("solution", optional: true) {
                answer = .solution(solution)
            } else if let completion = try record.text("completion", optional: true) {
                answer = .completion(completion)
            } else {
                throw EvaluationError.badRecord(
                    path: path, line: record.line, item: record.item, field: "completion",
                    detail: "a sample needs a string 'completion' or 'solution'")
            }
            let index = counts[taskID, default: 0]
            counts[taskID] = index + 1
            return CodeSample(taskID: taskID, index: index, answer: answer)
        }
    }

    /// One sample per task: its reference solution.
    public static func references(for tasks: [CodeProblem]) -> [CodeSample] {
        tasks.map { CodeSample(taskID: $0.id, index: 0, answer: nil) }
    }
}

/// How a sample's run ended.
public enum SampleStatus: String, Codable, Sendable, CaseIterable {
    /// The check program ran to its end and the harness proved it with the run's secret.
    case passed
    /// An assertion failed or the code raised (a syntax error included).
    case failed
    /// The run exited with status 0 before its tests finished (no proof from the harness).
    case exitedEarly = "exited_early"
    /// The wall-clock or CPU-time limit ended it.
    case timeout
    /// It ran out of its memory limit.
    case memory
    /// A signal other than the limits' ended it.
    case killed
}

/// A sample's result line.
public struct SampleResult: Codable, Sendable, Equatable {
    /// `task_id#index`, the key a resumed run skips on.
    public var id: String
    /// The task.
    public var taskID: String
    /// The sample's index within its task.
    public var sample: Int
    /// How the run ended.
    public var status: SampleStatus
    /// `status == .passed`.
    public var passed: Bool
    /// The runner's exit code (minus the signal number when a signal ended it).
    public var exitCode: Int32
    /// True when the wall-clock limit ended it.
    public var timedOut: Bool
    /// Wall time of the run in seconds.
    public var seconds: Double
    /// The end of standard output.
    public var stdoutTail: String
    /// The end of standard error.
    public var stderrTail: String

    enum CodingKeys: String, CodingKey {
        case id, sample, status, passed, seconds
        case taskID = "task_id"
        case exitCode = "exit_code"
        case timedOut = "timed_out"
        case stdoutTail = "stdout_tail"
        case stderrTail = "stderr_tail"
    }
}

/// pass@k, the chance that at least one of k samples drawn from a task's n passes (Chen et al. 2021).
public enum PassAtK {
    /// The unbiased estimator for one task with `n` samples of which `correct` passed:
    /// 1 − C(n − c, k) / C(n, k), computed as 1 − ∏_{i = n−c+1}^{n} (1 − k / i) so that no binomial
    /// coefficient is ever formed (HumanEval's `estimate_pass_at_k`, same order of products).
    public static func estimate(samples n: Int, correct c: Int, k: Int) -> Double {
        precondition(n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n, "pass@k needs 1 ≤ k ≤ n and 0 ≤ c ≤ n")
        if n - c < k { return 1 }
        if c == 0 { return 0 }
        var product = 1.0
        for i in (n - c + 1)...n { product *= 1 - Double(k) / Double(i) }
        return 1 - product
    }

    /// The mean of `estimate` over tasks, for each k that every task has at least k samples for.
    /// `counts` holds (samples, correct) per task; the result maps k to pass@k.
    public static func summary(_ counts: [(samples: Int, correct: Int)], ks: [Int] = [1, 10, 100]) -> [Int: Double] {
        guard !counts.isEmpty, let fewest = counts.map(\.samples).min(), fewest >= 1 else { return [:] }
        var result: [Int: Double] = [:]
        for k in ks where k <= fewest {
            var sum = 0.0
            for task in counts { sum += estimate(samples: task.samples, correct: task.correct, k: k) }
            result[k] = sum / Double(counts.count)
        }
        return result
    }
}
