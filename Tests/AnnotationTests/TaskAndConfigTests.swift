import Foundation
@testable import Chat
@testable import Spans
import TestSupport
import Testing

@testable import Annotation
@testable import Common
@testable import CodeSandbox
@testable import Tasks

@Suite("Tasks, prompts and configuration")
struct TaskAndConfigTests {
    let item = TaskItem(
        id: "x", prompt: "The post.", response: "The summary.", reference: "The ideal.",
        fields: ["title": "A title"])

    @Test func builtinPromptsCarryTheItemAndTheJSONContract() throws {
        let summary = try SummarizationTask().messages(for: item, execution: nil)
        #expect(summary.map(\.role) == ["system", "user"])
        #expect(summary[1].content.contains("The post."))
        #expect(summary[1].content.contains("The summary."))
        #expect(summary[1].content.contains("The ideal."))
        for key in ["\"textual_feedback\"", "\"good_spans\"", "\"poor_spans\"", "JSON"] {
            #expect(summary[1].content.contains(key))
        }
        let code = try CodeTask(improvementScore: 0.5).messages(
            for: item,
            execution: ExecutionResult(passed: false, exitCode: 1, stdout: "FAILED test_a", stderr: "", timedOut: false)
        )
        #expect(code[1].content.contains("\"wrong_code\""))
        #expect(code[1].content.contains("FAILED test_a"))
        #expect(CodeTask(improvementScore: 0.5).labels.map(\.score) == [-1, 0.5])
        let qa = try QATask().messages(for: item, execution: nil)
        #expect(qa[1].content.contains("accuracy"))
    }

    @Test func customTaskRendersPlaceholdersAndLiteralBraces() throws {
        let yaml = """
            name: headline
            template: |
              Title: {title} / {{literal}}
              Text: {prompt}
              Headline: {response}
            labels:
              - {name: good_spans, score: 1, meaning: catchy}
              - {name: poor_spans, score: -0.5}
            """
        let task = try CustomTask(yaml: yaml)
        #expect(task.name == "headline")
        #expect(task.labels.map(\.score) == [1, -0.5])
        let messages = try task.messages(for: item, execution: nil)
        #expect(messages[1].content.hasPrefix("Title: A title / {literal}\nText: The post.\nHeadline: The summary.\n"))
        #expect(messages[1].content.contains("\"poor_spans\""))
    }

    @Test func customTaskErrorsNameTheProblem() {
        func message(_ yaml: String) -> String {
            do {
                _ = try CustomTask(yaml: yaml, path: "t.yaml")
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(message("name: a\ntemplate: 'no response here'\nlabels: [{name: g, score: 1}]").contains("{response}"))
        #expect(
            message("name: a\ntemplate: '{response} {bad field}'\nlabels: [{name: g, score: 1}]")
                .contains("not a valid placeholder"))
        #expect(message("name: a\ntemplate: '{response}'\nlabels: []").contains("at least one label"))
        #expect(
            message("name: a\ntemplate: '{response}'\nlabels: [{name: g, score: 1}, {name: g, score: 2}]")
                .contains("appears twice"))
        #expect(message("name: a\ntemplate: '{response'\nlabels: [{name: g, score: 1}]").contains("unclosed"))
        let task = try? CustomTask(yaml: "name: a\ntemplate: '{response} {missing}'\nlabels: [{name: g, score: 1}]")
        #expect(throws: AnnotationError.missingField(item: "x", field: "missing")) {
            _ = try task?.messages(for: item, execution: nil)
        }
    }

    @Test func configLayersDefaultsEnvironmentFileAndFlags() throws {
        let env = ["OPENAI_BASE_URL": "http://env:1/v1", "OPENAI_API_KEY": "sk-env"]
        let defaults = AnnotateConfig(environment: env)
        #expect(defaults.endpoint.baseURL == "http://env:1/v1")
        #expect(defaults.endpoint.apiKey == "sk-env")
        #expect(defaults.endpoint.concurrency == 8)
        let file = NSTemporaryDirectory() + "annotate-layers-\(getpid()).yaml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "base_url: http://file:2/v1\nconcurrency: 16\ninput: in.jsonl\nsandbox:\n  wall_seconds: 5\n  disk_mb: 8\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let flags: (inout AnnotateConfig) -> Void = { c in
            c.endpoint.concurrency = 4
            c.output = "runs/a.jsonl"
            c.sandbox.python = "python3.11"
        }
        let config = try AnnotateConfig.resolve(path: file, environment: env, flags: flags)
        #expect(config.endpoint.baseURL == "http://file:2/v1")
        #expect(config.endpoint.apiKey == "sk-env", "the key comes from the environment (or --api-key), never the file")
        #expect(config.endpoint.concurrency == 4)
        #expect(config.sandbox.wallSeconds == 5, "a flag inside a group keeps the file's other settings there")
        #expect(config.sandbox.python == "python3.11")
        #expect(config.sandbox.cpuSeconds == 10)
        #expect(config.sandbox.diskMB == 8, "the sandbox's disk cap is a setting like the others")
        #expect(config.failuresPath == "runs/a.failures.jsonl")
        #expect(try AnnotateConfig.resolve(path: file, environment: env) { c in
            flags(&c)
            c.endpoint.apiKey = "sk-flag"
        }.endpoint.apiKey == "sk-flag")
    }

    @Test func unknownOrMistypedSettingsAreErrors() {
        for yaml in ["concurency: 4", "sandbox: {wall: 3}", "concurrency: many", "bad_lines: maybe",
                     "api_key: sk-in-a-file"] {
            #expect(throws: FileError.self, "\(yaml)") {
                try ConfigFile.decode(AnnotateConfig.self, yaml: yaml, source: "c")
            }
        }
        do {
            _ = try ConfigFile.decode(AnnotateConfig.self, yaml: "sandbox: {wall: 3}", source: "c.yaml")
        } catch {
            #expect("\(error)".contains("c.yaml") && "\(error)".contains("'sandbox.wall'"), "\(error)")
        }
    }

    @Test func theResponseBudgetReadsUnderItsEarlierName() throws {
        #expect(try ConfigFile.decode(AnnotateConfig.self, yaml: "max_tokens: 99", source: "c").maxNewTokens == 99)
        #expect(try ConfigFile.decode(AnnotateConfig.self, yaml: "max_new_tokens: 98", source: "c").maxNewTokens == 98)
        #expect(throws: FileError.self) {
            try ConfigFile.decode(AnnotateConfig.self, yaml: "max_tokens: 99\nmax_new_tokens: 98", source: "c")
        }
        #expect(try ConfigFile.yaml(AnnotateConfig()).contains("max_new_tokens: 1200\n"))
    }

    @Test func validationNamesTheSetting() {
        var config = AnnotateConfig(environment: [:])
        config.input = "in.jsonl"
        config.output = "out.jsonl"
        #expect(throws: Never.self) { try config.validate() }
        config.endpoint.concurrency = 0
        #expect(throws: AnnotationError.self) { try config.validate() }
        config.endpoint.concurrency = 4
        for disk in [0, (1 << 20) + 1] {
            config.sandbox.diskMB = disk
            #expect(throws: AnnotationError.self, "disk_mb \(disk)") { try config.validate() }
        }
        config.sandbox.diskMB = 64
        config.endpoint.baseURL = "ftp://x"
        #expect(throws: AnnotationError.self) { try config.validate() }
        config.endpoint.baseURL = "http://127.0.0.1:1/v1"
        config.overwrite = true
        config.resume = true
        #expect(throws: AnnotationError.self) { try config.validate() }
    }

    @Test func resolvedYAMLRoundTripsWithoutTheKey() throws {
        var config = AnnotateConfig(environment: [:])
        config.input = "in.jsonl"
        config.output = "out.jsonl"
        config.endpoint.apiKey = "sk-secret-value-123"
        config.endpoint.baseURL = "https://user:pass@example.com/v1"
        config.endpoint.concurrency = 12
        config.temperature = 0.3
        let yaml = try ConfigFile.yaml(config.saved)
        #expect(!yaml.contains("sk-secret-value-123"))
        #expect(!yaml.contains("pass@"))
        #expect(yaml.contains("temperature: 0.3\n"), "\(yaml)")
        let reloaded = try ConfigFile.decode(AnnotateConfig.self, yaml: yaml, source: "resolved")
        #expect(reloaded.endpoint.concurrency == 12)
        #expect(reloaded.endpoint.apiKey == nil)
        #expect(reloaded.output == "out.jsonl")
        #expect(reloaded == config.saved)
    }

    @Test func backoffIsCappedJitteredAndHonoursRetryAfter() {
        let backoff = Backoff(base: 0.5, cap: 4)
        #expect(backoff.delay(retry: 1, retryAfter: nil, random: 1) == 0.5)
        #expect(backoff.delay(retry: 3, retryAfter: nil, random: 1) == 2)
        #expect(backoff.delay(retry: 10, retryAfter: nil, random: 1) == 4)
        #expect(backoff.delay(retry: 10, retryAfter: nil, random: 0) == 2)
        #expect(backoff.delay(retry: 1, retryAfter: 3, random: 0) == 3)
        #expect(backoff.delay(retry: 1, retryAfter: 3, random: 1) == 3.3)
        #expect(backoff.delay(retry: 1, retryAfter: 1000, random: 0) == 120)
        #expect(Backoff.retryAfter(milliseconds: "1500", header: "9") == 1.5)
        #expect(Backoff.retryAfter(milliseconds: nil, header: "7") == 7)
        let now = Date(timeIntervalSince1970: 1_000_000_000)
        #expect(Backoff.retryAfter(milliseconds: nil, header: "Sun, 09 Sep 2001 01:46:50 GMT", now: now) == 10)
        #expect(Backoff.retryAfter(milliseconds: nil, header: "soon") == nil)
    }

    @Test func priceTableEstimatesAndOverlays() throws {
        let usage = TokenUsage(promptTokens: 1_000_000, completionTokens: 500_000)
        #expect(PriceTable.builtin.cost(usage, model: "gpt-4o-mini") == 0.45)
        #expect(PriceTable.builtin.cost(usage, model: "gpt-4o-2024-08-06") == 7.5)
        #expect(PriceTable.builtin.cost(usage, model: "llama-local") == nil)
        let directory = try TempDirectory()
        defer { directory.cleanup() }
        let path = try directory.write(
            "prices.yaml", "llama-local: {input: 1, output: 2}\ngpt-4o-mini: {input: 0, output: 0}\n")
        let table = try PriceTable.load(path: path)
        #expect(table.cost(usage, model: "llama-local") == 2)
        #expect(table.cost(usage, model: "gpt-4o-mini") == 0)
    }
}
