import Foundation
import TestSupport
import Testing

@testable import Evaluation

/// The HumanEval-format and MBPP-format fixtures (Tests/Fixtures/eval/code), with planted wrong samples.
enum CodeFixture {
    static let root = MetricFixture.root.appendingPathComponent("code")

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }
}

@Suite("Code tasks, samples and pass@k")
struct CodeTaskTests {
    @Test("pass@k: the unbiased estimator against the binomial formula")
    func passAtK() {
        func binomial(_ n: Int, _ k: Int) -> Double {
            guard k >= 0 && k <= n else { return 0 }
            var value = 1.0
            for i in 0..<k { value = value * Double(n - i) / Double(i + 1) }
            return value
        }
        for (n, c, k) in [(10, 3, 1), (10, 3, 5), (20, 0, 10), (20, 20, 1), (7, 2, 6), (200, 13, 100)] {
            let exact = 1 - binomial(n - c, k) / binomial(n, k)
            #expect(abs(PassAtK.estimate(samples: n, correct: c, k: k) - exact) < 1e-12, "n \(n) c \(c) k \(k)")
        }
        #expect(abs(PassAtK.estimate(samples: 5, correct: 2, k: 1) - 0.4) < 1e-15)
        #expect(PassAtK.estimate(samples: 5, correct: 0, k: 3) == 0)
        #expect(PassAtK.estimate(samples: 5, correct: 3, k: 3) == 1)
        let summary = PassAtK.summary([(samples: 2, correct: 1), (samples: 3, correct: 0)], ks: [1, 2, 10])
        #expect(summary[1] == 0.25 && summary[2] == 0.5 && summary[10] == nil)
    }

    @Test("task files: gzipped HumanEval JSONL, MBPP JSONL and sanitized MBPP as a JSON list")
    func readTasks() throws {
        let humanEval = try CodeProblem.read(path: CodeFixture.path("humaneval-mini.jsonl.gz"))
        #expect(humanEval.count == 6 && humanEval.allSatisfy { $0.format == .humanEval })
        #expect(humanEval[0].id == "Mini/0" && humanEval[0].entryPoint == "add")
        #expect(humanEval[0].referenceSolution.hasSuffix("    return a + b\n"))
        let mbpp = try CodeProblem.read(path: CodeFixture.path("mbpp-mini.jsonl"))
        #expect(mbpp.map(\.id) == ["11", "12", "13", "14"] && mbpp.allSatisfy { $0.format == .mbpp })
        #expect(mbpp[2].setup == "SENTENCE = 'the cat sat down'")
        let sanitized = try CodeProblem.read(path: CodeFixture.path("mbpp-sanitized-mini.json"))
        #expect(sanitized.count == 3 && sanitized.allSatisfy { $0.format == .mbppSanitized })
        #expect(sanitized[1].setup == "import math" && sanitized[1].testList.count == 2)
    }

    @Test("bad task files name the file, line and field")
    func badTasks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tasks.jsonl").path
        try "{\"task_id\": \"a\", \"prompt\": \"p\", \"test\": \"t\", \"canonical_solution\": \"s\"}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(
            throws: EvaluationError.badRecord(path: path, line: 1, item: nil, field: "entry_point", detail: "missing")
        ) {
            try CodeProblem.read(path: path)
        }
        try "{\"task_id\": 1, \"text\": \"t\", \"code\": \"c\", \"test_list\": [\"assert 1\"]}\nnot json\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: EvaluationError.self) { try CodeProblem.read(path: path) }
        let truncated = directory.appendingPathComponent("cut.jsonl.gz").path
        let gz = try Data(contentsOf: URL(fileURLWithPath: CodeFixture.path("humaneval-mini.jsonl.gz")))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: EvaluationError.io(path: truncated, detail: "truncated gzip data")) {
            try CodeProblem.read(path: truncated)
        }
    }

    /// A file of `bytes` in a fresh directory, removed with it when `body` returns.
    @discardableResult
    func withFile<T>(_ name: String, _ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    @Test("a gzip bomb stops at the bound on the decompressed size, with an error naming the file")
    func gzipBomb() throws {
        // 64 MiB of zeros, gzipped by the system's gzip to about 64 KiB.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tasks.jsonl.gz").path
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "head -c 67108864 /dev/zero | gzip -c > \"$0\"", path]
        try gzip.run()
        gzip.waitUntilExit()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(gzip.terminationStatus == 0 && size < 1 << 20)
        let started = Date()
        #expect(
            throws: EvaluationError.io(
                path: path, detail: "gzip data decompresses to more than \(1 << 20) bytes, the limit")
        ) {
            try CodeProblem.read(path: path, maximumBytes: 1 << 20)
        }
        #expect(Date().timeIntervalSince(started) < 5, "stopped at the bound, not after decompressing everything")
        #expect(CodeProblem.maximumFileBytes == 512 << 20)
    }

    @Test("a number where a string belongs, invalid UTF-8 and lone surrogates: errors naming file, line and field")
    func badTypesAndText() throws {
        let good = #"{"task_id": 19, "prompt": "p", "code": "c", "test_list": ["assert True"], "test_imports": []}"#
        func lines(_ second: String) -> [UInt8] { Array((good + "\n" + second + "\n").utf8) }
        let numberPrompt = #"{"task_id": 20, "prompt": 5, "code": "c", "test_list": [], "test_imports": []}"#
        try withFile("tasks.jsonl", lines(numberPrompt)) { (path: String) throws in
            #expect(
                throws: EvaluationError.badRecord(
                    path: path, line: 2, item: nil, field: "prompt", detail: "expected a string, found a number")
            ) { try CodeProblem.read(path: path) }
        }
        let humanEval = #"{"task_id": "H/1", "prompt": "p", "entry_point": "f", "test": 3, "canonical_solution": "s"}"#
        try withFile("tasks.jsonl", lines(humanEval)) { (path: String) throws in
            #expect(
                throws: EvaluationError.badRecord(
                    path: path, line: 2, item: nil, field: "test", detail: "expected a string, found a number")
            ) { try CodeProblem.read(path: path) }
        }
        // A byte that is not UTF-8 inside the code, on line 2.
        var badByte = Array(#"{"task_id": 20, "prompt": "p", "code": "c"#.utf8) + [0xFF]
        badByte += Array(#"", "test_list": [], "test_imports": []}"#.utf8)
        try withFile("tasks.jsonl", Array((good + "\n").utf8) + badByte) { (path: String) throws in
            #expect(
                throws: EvaluationError.badRecord(path: path, line: 2, item: nil, field: "code", detail: "not valid UTF-8")
            ) { try CodeProblem.read(path: path) }
        }
        let surrogate = #"{"task_id": 20, "prompt": "p \ud800 q", "code": "c", "test_list": [], "test_imports": []}"#
        try withFile("tasks.jsonl", lines(surrogate)) { (path: String) throws in
            #expect(
                throws: EvaluationError.badRecord(
                    path: path, line: 2, item: nil, field: "prompt", detail: #"\ud800 is a lone surrogate"#)
            ) { try CodeProblem.read(path: path) }
        }
        // A pair is one character; an escaped backslash before "ud800" is text.
        let fine = #"{"task_id": 20, "prompt": "\ud83d\ude00 \\ud800", "code": "c", "test_list": [], "test_imports": []}"#
        try withFile("tasks.jsonl", lines(fine)) { (path: String) throws in
            #expect(try CodeProblem.read(path: path)[1].prompt == "\u{1F600} " + #"\ud800"#)
        }
        // Samples: the answer must be a string, and its text valid.
        try withFile("samples.jsonl", Array((#"{"task_id": 19, "completion": 7}"# + "\n").utf8)) { (path: String) throws in
            #expect(
                throws: EvaluationError.badRecord(
                    path: path, line: 1, item: nil, field: "completion", detail: "expected a string, found a number")
            ) { try CodeSample.read(path: path) }
        }
        try withFile("samples.json", Array(#"[{"task_id": 19, "solution": "x = '\udc00'"}]"#.utf8)) { (path: String) throws in
            #expect(
                throws: EvaluationError.badRecord(
                    path: path, line: 1, item: 0, field: "solution", detail: #"\udc00 is a lone surrogate"#)
            ) { try CodeSample.read(path: path) }
        }
    }

    @Test("an empty task or samples file is an error, not an empty pass@k")
    func emptyFiles() throws {
        for contents in ["", "\n\n  \n", "[]"] {
            try withFile("samples.jsonl", Array(contents.utf8)) { (path: String) throws in
                #expect(
                    throws: EvaluationError.badRecord(
                        path: path, line: nil, item: nil, field: nil, detail: "no samples: the file holds no records")
                ) { try CodeSample.read(path: path) }
                #expect(throws: EvaluationError.self) { try CodeProblem.read(path: path) }
            }
        }
    }

    @Test("samples: completion or solution, indexed per task in file order")
    func readSamples() throws {
        let samples = try CodeSample.read(path: CodeFixture.path("humaneval-samples.jsonl"))
        #expect(samples.count == 17)
        #expect(samples[0].key == "Mini/0#0" && samples[4].key == "Mini/0#4" && samples[5].key == "Mini/1#0")
        #expect(samples[4].answer == .solution("import os\nos._exit(0)\n"))
    }

    @Test("code from fenced chat answers: the block defining the entry point, a cut-off fence, no fence")
    func extraction() {
        let answer = """
            Sure! First an example:
            ```python
            print(add(1, 2))
            ```
            and the function:
            ```py
            def add(a, b):
                return a + b
            ```
            """
        #expect(CodeExtraction.code(fromAnswer: answer, entryPoint: "add") == "def add(a, b):\n    return a + b\n")
        #expect(
            CodeExtraction.code(fromAnswer: "```\ndef f():\n    return 1", entryPoint: nil)
                == "def f():\n    return 1\n")
        #expect(CodeExtraction.code(fromAnswer: "x = 1\n", entryPoint: nil) == "x = 1\n")
        #expect(CodeExtraction.code(fromAnswer: "```text\nhello\n```\n", entryPoint: nil) == "hello\n")
        #expect(CodeExtraction.defines("async def  go (x):\n    pass", function: "go"))
        #expect(!CodeExtraction.defines("def gone(x):\n    pass", function: "go"))
    }

    @Test("the program: a completion continues the prompt, a whole function stands alone with the prompt's imports")
    func programs() throws {
        let task = try CodeProblem.read(path: CodeFixture.path("humaneval-mini.jsonl.gz"))[1]
        let body = "    return False\n"
        #expect(task.program(for: .completion(body)) == task.prompt + body)
        let whole = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
        #expect(
            task.program(for: .completion(whole))
                == "from typing import List\ndef has_close_elements(numbers, threshold):\n    return False\n")
        // HumanEval's own check program: prompt + completion + "\n" + test + "\n" + "check(entry_point)".
        #expect(
            task.checkProgram(solution: task.program(for: .completion(body)))
                == task.prompt + body + "\n" + task.test + "\n" + "check(has_close_elements)\n")
        let mbpp = try CodeProblem.read(path: CodeFixture.path("mbpp-mini.jsonl"))[2]
        #expect(mbpp.program(for: .completion("def f(): pass")) == "SENTENCE = 'the cat sat down'\ndef f(): pass")
        #expect(
            mbpp.checkProgram(solution: "def f(): pass")
                == "def f(): pass\nassert count_words(SENTENCE) == 4\nassert count_words('') == 0\n")
    }

    @Test("SHA-256 test vectors")
    func sha256() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
