import Common
import Foundation
import Testing

@testable import Tokenizers

/// Hostile chat templates end in a `TokenizerError` naming the limit, quickly, never a crash; and the tokenizer
/// defects found against real files.
@Suite("Template limits and tokenizer hardening")
struct TokenizerHardeningTests {
    /// Renders `source` with one user message; returns the error (nil when it rendered) and the seconds taken.
    func render(_ source: String) -> (error: TokenizerError?, seconds: Double) {
        let started = Date()
        do {
            let template = try ChatTemplate(source)
            _ = try template.render(["messages": .array([.dict([("role", .string("user")), ("content", .string("hi"))])])])
            return (nil, Date().timeIntervalSince(started))
        } catch {
            return (error as? TokenizerError ?? .template("\(error)"), Date().timeIntervalSince(started))
        }
    }

    func expectLimit(_ source: String, _ name: String, within seconds: Double = 5, _ comment: Comment? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let (error, elapsed) = render(source)
        guard case .limit(let hit, _)? = error else {
            Issue.record("\(comment?.description ?? String(source.prefix(60))): \(String(describing: error))",
                         sourceLocation: sourceLocation)
            return
        }
        #expect(hit == name, sourceLocation: sourceLocation)
        #expect(elapsed < seconds, "took \(elapsed) s", sourceLocation: sourceLocation)
    }

    @Test("deep nesting is a limit, not a stack overflow")
    func nesting() {
        let depth = 30_000
        expectLimit("{{ " + String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth) + " }}",
                    "nesting depth", "30,000 parentheses")
        expectLimit("{{ " + Array(repeating: "1", count: depth).joined(separator: " + ") + " }}", "nesting depth", "a + b + ...")
        expectLimit("{{ " + String(repeating: "- ", count: depth) + "1 }}", "nesting depth", "- - - 1")
        expectLimit("{{ " + String(repeating: "not ", count: depth) + "1 }}", "nesting depth", "not not 1")
        expectLimit("{{ x" + String(repeating: "|trim", count: depth) + " }}", "nesting depth", "filter chain")
        expectLimit("{{ " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + " }}",
                    "nesting depth", "[[[...]]]")
        expectLimit(String(repeating: "{% if true %}", count: depth) + "x" + String(repeating: "{% endif %}", count: depth),
                    "nesting depth", "nested if blocks")
        expectLimit("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
                    "nesting depth", "a value nested in a loop")
        // Real templates nest a few levels: well inside the limit.
        #expect(render("{{ ((1 + 2) * (3 - (4 // 2))) }}{% if true %}{% for m in messages %}{{ m.role }}{% endfor %}{% endif %}").error == nil)
    }

    @Test("loops and ranges are bounded before anything is allocated")
    func iterations() {
        expectLimit("{% for i in range(1000000000) %}{% endfor %}", "loop iterations", within: 1)
        expectLimit("{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{% endfor %}{% endfor %}",
                    "loop iterations", within: 3, "two nested range(10000)")
        expectLimit("{% for i in range(-9223372036854775807, 9223372036854775807) %}{% endfor %}", "loop iterations", within: 1)
    }

    @Test("output and built values are bounded in size")
    func sizes() {
        let doublings = String(repeating: "{% set a = a ~ a %}", count: 40)
        expectLimit("{% set a = 'xxxxxxxx' %}" + doublings + "{{ a }}", "output size", within: 3, "string doubling")
        let arrays = String(repeating: "{% set a = a + a %}", count: 40)
        expectLimit("{% set a = [1] %}" + arrays, "loop iterations", within: 3, "list doubling")
        let shared = String(repeating: "{% set a = [a, a] %}", count: 60)
        let (error, elapsed) = render("{% set a = 'x' %}" + shared + "{{ a }}{{ a | tojson }}")
        guard case .limit? = error else {
            Issue.record("a shared list of 2^60 leaves: \(String(describing: error))")
            return
        }
        #expect(elapsed < 5)
        expectLimit("{% set a = 'x' %}" + String(repeating: "{% set a = a.replace('x', 'xx') %}", count: 40) + "{{ a }}",
                    "work steps", within: 5, "replace doubling")
        #expect(render("{{ [1, 2] | tojson(indent=1000000000) }}").error != nil)
    }

    @Test("integer overflow and a namespace cycle are errors, not traps")
    func arithmeticAndCycles() {
        for source in ["{{ 9223372036854775807 + 1 }}", "{{ (0 - 9223372036854775807 - 1) // -1 }}",
                       "{{ 4611686018427387904 * 4 }}", "{{ -(0 - 9223372036854775807 - 1) }}"] {
            #expect(render(source).error != nil, "\(source)")
        }
        #expect(render("{{ 7 // -2 }}").error == nil)
        let cycle = render("{% set ns = namespace(x=1) %}{% set ns.me = ns %}{{ ns | tojson }}")
        #expect(cycle.error != nil)
    }

    /// A tokenizer fixture directory copied to a temporary one, with `chat_template.jinja` beside it.
    @Test("chat_template.jinja beside tokenizer_config.json is the chat template")
    func jinjaFile() throws {
        let source = Fixtures.root.appendingPathComponent("smollm")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-jinja-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"),
                                         to: directory.appendingPathComponent("tokenizer.json"))
        // transformers ≥ 4.43 writes the template to its own file and leaves it out of tokenizer_config.json.
        try Data(#"{"bos_token": null, "eos_token": "<|im_end|>"}"#.utf8)
            .write(to: directory.appendingPathComponent("tokenizer_config.json"))
        let template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
        try template.write(to: directory.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        let tokenizer = try Tokenizer.load(directory: directory)
        #expect(tokenizer.chatTemplate == template)
        #expect(try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: false)
                == "<user>hi")
    }

    @Test("the Strip decoder compares Unicode scalars: a space before a combining mark is stripped")
    func stripComparesScalars() throws {
        let strip = StripDecoder(content: " ", start: 1, stop: 1)
        // " \u{301}" is one Character (a space with a combining acute) but two scalars.
        #expect(strip.decodeChain([" \u{301}abc"]) == ["\u{301}abc"])
        #expect(strip.decodeChain(["abc \u{301}"]) == ["abc \u{301}"])
        #expect(strip.decodeChain(["  x "]) == [" x"])
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "decoder": {"type": "Strip", "content": "", "start": 1, "stop": 0}}"#
        #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: Data(json.utf8)) }
    }
}
