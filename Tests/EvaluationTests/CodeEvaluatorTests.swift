import CodeSandbox
import Foundation
import JSON
import TestSupport
import Testing

@testable import Evaluation

/// Limits small enough that the planted loops and allocations end fast.
func fixtureLimits() -> SandboxLimits {
    var limits = SandboxLimits()
    limits.wallSeconds = 6
    limits.cpuSeconds = 2
    limits.memoryMB = 256
    return limits
}

/// The status each fixture sample must get, from its `expect` field (the evaluator ignores it).
func expectedStatuses(_ path: String) throws -> [String] {
    try RecordFile.read(path: path).map { $0.value["expect"]!.stringValue! }
}

@Suite("pass@k runs in the sandbox", .serialized)
struct CodeEvaluatorTests {
    static let files = [
        ("humaneval-mini.jsonl.gz", "humaneval-samples.jsonl"), ("mbpp-mini.jsonl", "mbpp-samples.jsonl"),
        ("mbpp-sanitized-mini.json", "mbpp-sanitized-samples.jsonl"),
    ]

    @Test("every correct sample passes and every planted wrong one gets its status", arguments: files)
    func plantedSamples(tasks: String, samples: String) async throws {
        let taskList = try CodeProblem.read(path: CodeFixture.path(tasks))
        let sampleList = try CodeSample.read(path: CodeFixture.path(samples))
        let expected = try expectedStatuses(CodeFixture.path(samples))
        let config = CodeEvaluationConfig(limits: fixtureLimits(), jobs: 2, ks: [1, 2])
        let (report, results) = try await CodeEvaluator(config: config).run(tasks: taskList, samples: sampleList)
        #expect(results.count == sampleList.count)
        for (result, want) in zip(results, expected) {
            #expect(result.status.rawValue == want, "\(result.id): \(result.status) \(result.stdoutTail.suffix(300))")
        }
        #expect(report.passed == expected.filter { $0 == "passed" }.count)
        // pass@2 only where every task has two samples.
        let fewest = Dictionary(grouping: sampleList, by: \.taskID).values.map(\.count).min()!
        #expect(report.passAtK["pass@1"] != nil && (report.passAtK["pass@2"] != nil) == (fewest >= 2))
        print("eval code \(samples): \(report.samples) samples, \(report.seconds) s, \(report.samplesPerSecond)/s")
    }

    @Test("the task files' own reference solutions all pass", arguments: files.map(\.0))
    func references(tasks: String) async throws {
        let taskList = try CodeProblem.read(path: CodeFixture.path(tasks))
        let config = CodeEvaluationConfig(limits: fixtureLimits(), jobs: 2)
        let (report, results) = try await CodeEvaluator(config: config).run(
            tasks: taskList, samples: CodeSample.references(for: taskList))
        let failing = results.filter { !$0.passed }.map { "\($0.id): \($0.stdoutTail)" }
        #expect(failing.isEmpty, "\(failing)")
        #expect(report.passAtK["pass@1"] == 1)
    }

    @Test("solutions whose functions are named test_* and take arguments pass, as in MBPP 19, 46, 801")
    func testNamedSolutions() async throws {
        let sanitized = CodeProblem(
            id: "19", format: .mbppSanitized, prompt: "Find whether an array holds a duplicate.",
            testList: [
                "assert test_duplicate(([1,2,3,4,5]))==False", "assert test_duplicate(([1,2,3,4, 4]))==True",
            ],
            referenceSolution: "def test_duplicate(arraynums):\n    return len(arraynums) != len(set(arraynums))\n")
        let original = CodeProblem(
            id: "801", format: .mbpp, prompt: "Count the equal numbers among three.",
            testList: ["assert test_three_equal(1,1,1) == 3", "assert test_three_equal(-1,-2,-3) == 0"],
            setup: "import math",
            referenceSolution: "def test_three_equal(x,y,z):\n    result = set([x,y,z])\n"
                + "    if len(result)==3:\n        return 0\n    return (4-len(result))\n")
        let humanEval = CodeProblem(
            id: "H/0", format: .humanEval, prompt: "def test_distinct(data):\n    \"\"\"All different?\"\"\"\n",
            entryPoint: "test_distinct",
            test: "def check(candidate):\n    assert candidate([1, 5, 7]) == True\n    assert candidate([2, 2]) == False\n",
            referenceSolution: "def test_distinct(data):\n    return len(data) == len(set(data))\n")
        let tasks = [sanitized, original, humanEval]
        let samples = CodeSample.references(for: tasks) + [
            CodeSample(taskID: "19", index: 1, answer: .completion("def test_duplicate(arraynums):\n    return True\n"))
        ]
        let config = CodeEvaluationConfig(limits: fixtureLimits(), jobs: 2)
        let (_, results) = try await CodeEvaluator(config: config).run(tasks: tasks, samples: samples)
        for result in results.prefix(3) {
            #expect(result.status == .passed, "\(result.id): \(result.stdoutTail)\(result.stderrTail)")
        }
        #expect(results[3].status == .failed, "\(results[3].stderrTail)")
    }

    @Test("a sample that reads its directory, prints what it finds and exits 0 is not a pass")
    func forgedPass() async throws {
        let taskList = try CodeProblem.read(path: CodeFixture.path("mbpp-mini.jsonl"))
        // Issue 24's attack: whatever line marks the end of the tests is in some file here; print them all.
        let forger = """
            import os
            for name in os.listdir('.'):
                print(open(name, encoding='utf-8', errors='replace').read(), flush=True)
            os._exit(0)
            """
        let sample = CodeSample(taskID: "13", index: 0, answer: .solution(forger))
        let (report, results) = try await CodeEvaluator(config: CodeEvaluationConfig(limits: fixtureLimits()))
            .run(tasks: taskList, samples: [sample])
        #expect(results[0].status == .exitedEarly, "\(results[0].stdoutTail)")
        #expect(results[0].stdoutTail.contains("count_words"), "the forger saw the tests: \(results[0].stdoutTail)")
        #expect(report.passed == 0)
    }

    @Test("a rerun with the same results file runs only what is missing, after cutting a torn last line")
    func resume() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.jsonl").path
        let taskList = try CodeProblem.read(path: CodeFixture.path("mbpp-mini.jsonl"))
        let sampleList = try CodeSample.read(path: CodeFixture.path("mbpp-samples.jsonl")).filter { $0.taskID != "13" }
        let config = CodeEvaluationConfig(limits: fixtureLimits(), jobs: 2, resultsPath: path)
        let first = try await CodeEvaluator(config: config).run(tasks: taskList, samples: Array(sampleList.prefix(3)))
        #expect(first.report.evaluated == 3)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"id\": \"14#0\", \"task_".utf8))
        try handle.close()
        let second = try await CodeEvaluator(config: config).run(tasks: taskList, samples: sampleList)
        #expect(second.report.evaluated == sampleList.count - 3 && second.results.count == sampleList.count)
        #expect(second.results.map(\.id) == sampleList.map(\.key))
        let third = try await CodeEvaluator(config: config).run(tasks: taskList, samples: sampleList)
        #expect(third.report.evaluated == 0 && third.report.passed == second.report.passed)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == sampleList.count)
    }

    @Test("a sample naming a task the file does not have is an error")
    func unknownTask() async throws {
        let taskList = try CodeProblem.read(path: CodeFixture.path("mbpp-mini.jsonl"))
        let stray = CodeSample(taskID: "999", index: 0, answer: .completion("pass"))
        await #expect(throws: EvaluationError.self) {
            _ = try await CodeEvaluator(config: CodeEvaluationConfig()).run(tasks: taskList, samples: [stray])
        }
    }
}
