import JSON

/// A programming problem with its tests, from a HumanEval-format or MBPP-format file.
public struct CodeProblem: Sendable, Equatable {
    /// Which release's fields the record had.
    public enum Format: String, Sendable, Codable {
        /// HumanEval(+): `task_id`, `prompt`, `canonical_solution`, `test` (defining `check`), `entry_point`.
        case humanEval = "humaneval"
        /// MBPP's original release: `task_id`, `text`, `code`, `test_list`, `test_setup_code`.
        case mbpp
        /// MBPP sanitized: `task_id`, `prompt`, `code`, `test_list`, `test_imports`.
        case mbppSanitized = "mbpp-sanitized"
    }

    /// The task's id as written (MBPP's integers become decimal strings).
    public var id: String
    /// The release format.
    public var format: Format
    /// What a model is asked: HumanEval's code prompt, MBPP's problem statement.
    public var prompt: String
    /// HumanEval's function under test.
    public var entryPoint: String?
    /// HumanEval's test code (defines `check(candidate)`); empty for MBPP.
    public var test: String
    /// MBPP's assert statements, in order.
    public var testList: [String]
    /// Code run before the solution: MBPP's `test_setup_code`, or its `test_imports` one per line.
    public var setup: String
    /// The task file's own solution: HumanEval's prompt + `canonical_solution`, MBPP's `code`.
    public var referenceSolution: String

    /// Creates a task.
    public init(
        id: String, format: Format, prompt: String, entryPoint: String? = nil, test: String = "",
        testList: [String] = [], setup: String = "", referenceSolution: String
    ) {
        self.id = id
        self.format = format
        self.prompt = prompt
        self.entryPoint = entryPoint
        self.test = test
        self.testList = testList
        self.setup = setup
        self.referenceSolution = referenceSolution
    }

    /// The task in `record`, its format recognised from the fields present.
    ///
    /// Text fields must be JSON strings; only `task_id` may be an integer (MBPP's are).
    public init(record: SourcedRecord) throws {
        id = try record.requiredID("task_id")
        if record.value["entry_point"] != nil || record.value["canonical_solution"] != nil {
            format = .humanEval
            prompt = try record.text("prompt")
            let entry = try record.text("entry_point")
            guard Self.isIdentifier(entry) else {
                throw EvaluationError.badRecord(
                    path: record.path, line: record.line, item: record.item, field: "entry_point",
                    detail: "'\(entry)' is not a Python identifier")
            }
            entryPoint = entry
            test = try record.text("test")
            testList = []
            setup = ""
            referenceSolution = prompt + (try record.text("canonical_solution"))
        } else if record.value["test_list"] != nil {
            testList = try record.strings("test_list")
            referenceSolution = try record.text("code")
            test = ""
            entryPoint = nil
            if record.value["test_imports"] != nil || record.value["text"] == nil {
                format = .mbppSanitized
                prompt = try record.text("prompt")
                setup = try record.strings("test_imports", optional: true).joined(separator: "\n")
            } else {
                format = .mbpp
                prompt = try record.text("text")
                setup = try record.text("test_setup_code", optional: true) ?? ""
            }
        } else {
            throw EvaluationError.badRecord(
                path: record.path, line: record.line, item: record.item, field: nil,
                detail: "neither a HumanEval task (entry_point, test) nor an MBPP task (test_list)")
        }
    }

    /// The largest task file read, and the most a gzipped one may decompress to: 512 MiB.
    public static let maximumFileBytes = 512 << 20

    /// Every task of a task file (JSONL, gzipped JSONL or a JSON list): at least one, ids unique, text valid
    /// UTF-8, and no more than `maximumBytes` once decompressed.
    public static func read(path: String, maximumBytes: Int = maximumFileBytes) throws -> [CodeProblem] {
        let records = try RecordFile.read(path: path, kind: "task", maximumBytes: maximumBytes)
        let tasks = try records.map(CodeProblem.init(record:))
        var seen = Set<String>()
        for (task, record) in zip(tasks, records) where !seen.insert(task.id).inserted {
            throw EvaluationError.badRecord(
                path: path, line: record.line, item: record.item, field: "task_id",
                detail: "'\(task.id)' appears twice")
        }
        return tasks
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isXIDStart else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isXIDContinue }
    }

    // MARK: - The program and its tests

    /// The module to test for a candidate answer: what goes into `solution.py`.
    ///
    /// HumanEval: a `completion` without a fence continues the prompt (the HumanEval convention); code from
    /// a fenced chat answer, or a `solution`, stands alone when it defines the entry point, else it too
    /// continues the prompt; a stand-alone answer gets the prompt's imports. MBPP: the answer is the whole
    /// module, after the setup code (the reference harness runs setup, solution and asserts as one program).
    public func program(for answer: SampleAnswer) -> String {
        switch format {
        case .humanEval:
            let code: String
            let standsAlone: Bool
            switch answer {
            case .completion(let text):
                if CodeExtraction.hasFence(text) {
                    code = CodeExtraction.code(fromAnswer: text, entryPoint: entryPoint)
                    standsAlone = CodeExtraction.defines(code, function: entryPoint ?? "")
                } else {
                    code = text
                    standsAlone = false
                }
            case .solution(let text):
                code = CodeExtraction.code(fromAnswer: text, entryPoint: entryPoint)
                standsAlone = CodeExtraction.defines(code, function: entryPoint ?? "")
            }
            return standsAlone ? CodeExtraction.imports(of: prompt) + code : prompt + code
        case .mbpp, .mbppSanitized:
            let text: String
            switch answer {
            case .completion(let t), .solution(let t): text = t
            }
            let code = CodeExtraction.code(fromAnswer: text, entryPoint: nil)
            return setup.isEmpty ? code : setup + "\n" + code
        }
    }

    /// The program run for a solution module (`program(for:)`, or the reference), as the benchmark's own harness
    /// builds it, to be executed as one script: HumanEval's `prompt + completion + "\n" + test + "\n" +
    /// "check(entry_point)"`; MBPP's setup, code and then each of `test_list`'s asserts, one per line.
    /// (MBPP's `challenge_test_list` is not run, as neither MBPP's reported numbers nor the common harnesses run it.)
    public func checkProgram(solution: String) -> String {
        switch format {
        case .humanEval:
            return solution + "\n" + test + "\n" + "check(\(entryPoint ?? "None"))\n"
        case .mbpp, .mbppSanitized:
            return solution + "\n" + testList.joined(separator: "\n") + "\n"
        }
    }

    /// The task file's own solution as a solution module: HumanEval's prompt and canonical solution, MBPP's
    /// setup and code.
    public var referenceProgram: String {
        setup.isEmpty || format == .humanEval ? referenceSolution : setup + "\n" + referenceSolution
    }
}

extension SourcedRecord {
    /// The `field` member, which must be a JSON string (not a number); nil when absent (or null) and `optional`.
    func text(_ field: String, optional: Bool) throws -> String? {
        guard let member = value[field], member != .null || !optional else {
            if optional { return nil }
            throw EvaluationError.badRecord(path: path, line: line, item: item, field: field, detail: "missing")
        }
        guard case .string(let text) = member else {
            throw EvaluationError.badRecord(
                path: path, line: line, item: item, field: field, detail: "expected a string, found \(member.kind)")
        }
        return text
    }

    /// The `field` member, a JSON string that must be there.
    func text(_ field: String) throws -> String {
        guard let text = try text(field, optional: false) else {
            throw EvaluationError.badRecord(path: path, line: line, item: item, field: field, detail: "missing")
        }
        return text
    }
}

extension JSONValue {
    /// The JSON type's name, for errors.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

/// A candidate answer for a task, as a samples file gives it.
public enum SampleAnswer: Sendable, Equatable {
    /// HumanEval's `completion` (the function body continuing the prompt), or a chat answer.
    case completion(String)
    /// EvalPlus's `solution`: the whole program.
    case solution(String)

    /// The text, whichever field it came from.
    public var text: String {
        switch self {
        case .completion(let t), .solution(let t): return t
        }
    }
}

/// Code out of a chat model's answer: Markdown fences, language tags, prose around the code.
public enum CodeExtraction {
    /// A fenced block: its info string (language tag) and body.
    struct Block {
        var info: String
        var body: String
    }

    /// True when `text` has a line opening a fence (```), where a chat answer's code would be.
    public static func hasFence(_ text: String) -> Bool { !blocks(in: text).isEmpty }

    /// The code in `answer`.
    ///
    /// Without a fence the answer is taken as code. With fences, in order of preference: the first Python
    /// (or untagged) block defining `entryPoint`; the first Python or untagged block with a `def` or
    /// `class`; the first Python or untagged block; the first block. A last fence left open (an answer
    /// cut off by the token limit) runs to the end of the text.
    public static func code(fromAnswer answer: String, entryPoint: String?) -> String {
        let found = blocks(in: answer)
        guard !found.isEmpty else { return answer }
        let python = found.filter { isPython($0.info) }
        if let entryPoint, let block = python.first(where: { defines($0.body, function: entryPoint) }) {
            return block.body
        }
        if let block = python.first(where: { $0.body.contains("def ") || $0.body.contains("class ") }) {
            return block.body
        }
        return (python.first ?? found[0]).body
    }

    static func isPython(_ info: String) -> Bool {
        let tag = info.split(separator: " ").first.map { $0.lowercased() } ?? ""
        return tag.isEmpty || tag == "python" || tag == "py" || tag == "python3"
    }

    /// Fenced blocks: a line starting with ``` (after up to three spaces) opens one, the next such line closes it.
    static func blocks(in text: String) -> [Block] {
        var result: [Block] = []
        var open: (info: String, lines: [Substring])?
        for line in lines(of: text) {
            let trimmed = line.drop { $0 == " " }
            let isFence = line.count - trimmed.count <= 3 && trimmed.hasPrefix("```")
            if var block = open {
                if isFence {
                    result.append(Block(info: block.info, body: block.lines.joined(separator: "\n") + "\n"))
                    open = nil
                } else {
                    block.lines.append(line)
                    open = block
                }
            } else if isFence {
                let info = String(trimmed.dropFirst(3).drop { $0 == " " || $0 == "\t" })
                open = (info, [])
            }
        }
        if let block = open, !block.lines.isEmpty {
            result.append(Block(info: block.info, body: block.lines.joined(separator: "\n") + "\n"))
        }
        return result
    }

    /// Lines split at "\n" and "\r\n" (one `Character` in Swift, so a plain split on "\n" would miss it).
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }

    /// True when `code` has a top-level `def function(` (or `async def`).
    public static func defines(_ code: String, function: String) -> Bool {
        guard !function.isEmpty else { return false }
        for line in lines(of: code) {
            var rest = Substring(line)
            if rest.hasPrefix("async ") { rest = rest.dropFirst(6).drop { $0 == " " } }
            guard rest.hasPrefix("def ") else { continue }
            rest = rest.dropFirst(4).drop { $0 == " " }
            if rest.hasPrefix(function) && rest.dropFirst(function.count).drop(while: { $0 == " " }).hasPrefix("(") {
                return true
            }
        }
        return false
    }

    /// The top-level `import` and `from … import` lines of `code`, each followed by a newline.
    public static func imports(of code: String) -> String {
        lines(of: code).filter { $0.hasPrefix("import ") || $0.hasPrefix("from ") }
            .map { $0 + "\n" }.joined()
    }
}
