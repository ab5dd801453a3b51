import Common
import Foundation
import Testing

@testable import Tokenizers

/// Chat templates of real models, rendered as `transformers`' `apply_chat_template(tokenize=False)` did.
@Suite("Chat templates")
struct ChatTemplateTests {
    @Test("apply_chat_template matches transformers", arguments: Fixtures.chatFamilies)
    func matchesTransformers(family: String) throws {
        let tokenizer = try Fixtures.tokenizer(family)
        let goldens = try Fixtures.chatGoldens(family)
        #expect(tokenizer.chatTemplate != nil)
        for chat in goldens.chats {
            let messages = chat.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let context: [String: JinjaValue] = ["date_string": .string(goldens.date_string)]
            if let expected = chat.output {
                let rendered = try tokenizer.applyChatTemplate(
                    messages: messages, addGenerationPrompt: chat.add_generation_prompt,
                    extraContext: context)
                #expect(rendered == expected, "\(family) \(chat.messages.map(\.role))")
            } else {
                #expect(throws: TokenizerError.template(chat.error ?? "")) {
                    try tokenizer.applyChatTemplate(
                        messages: messages, addGenerationPrompt: chat.add_generation_prompt,
                        extraContext: context)
                }
            }
        }
    }

    @Test("the templates' files are the ones in tokenizer_config.json")
    func templateFilesAreEmbedded() throws {
        for family in Fixtures.chatFamilies {
            let goldens = try Fixtures.chatGoldens(family)
            let file = Fixtures.root.appendingPathComponent("templates").appendingPathComponent(goldens.template)
            #expect(try Fixtures.tokenizer(family).chatTemplate == String(contentsOf: file, encoding: .utf8))
        }
    }

    @Test("Jinja features: loops, namespace, filters, tests, slices, whitespace control")
    func jinjaFeatures() throws {
        let template = try ChatTemplate(
            """
            {%- set ns = namespace(n=0) -%}
            {%- for x in items if x > 1 -%}
              {%- set ns.n = ns.n + x -%}
              {{ loop.index0 }}:{{ x }}{% if not loop.last %},{% endif %}
            {%- endfor %} sum={{ ns.n }} {{ 'a b ' | trim | upper }} {{ [1, 2] | length }}
            {{- " " ~ name[1:] ~ name[:-1] }} {{ d | tojson }} {{ none is none }} {{ undefined_thing is defined }}
            {%- for k, v in d.items() %} {{ k }}={{ v }}{% endfor %}
            """)
        let out = try template.render([
            "items": .array([.int(1), .int(2), .int(3)]), "name": .string("Swift"),
            "d": .dict([("b", .int(1)), ("a", .string("é\""))]),
        ])
        #expect(out == "0:2,1:3 sum=5 A B 2 wiftSwif {\"b\": 1, \"a\": \"é\\\"\"} True False b=1 a=é\"")
    }

    @Test("trim_blocks and lstrip_blocks as transformers sets them")
    func blockWhitespace() throws {
        let template = try ChatTemplate("a\n    {% if true %}\nb\n    {% endif %}\nc")
        #expect(try template.render([:]) == "a\nb\nc")
    }

    @Test("unsupported syntax is a clear error")
    func unsupportedSyntax() {
        #expect(throws: TokenizerError.template("statement {% macro %} is not supported")) {
            try ChatTemplate("{% macro f() %}x{% endmacro %}")
        }
        #expect(throws: TokenizerError.template("filter 'wordwrap' is not supported")) {
            try ChatTemplate("{{ 'x' | wordwrap }}").render([:])
        }
    }

    @Test("a tokenizer without a template says so")
    func missingTemplate() throws {
        let tokenizer = try Fixtures.tokenizer("gpt2")
        #expect(throws: TokenizerError.missingChatTemplate) {
            try tokenizer.applyChatTemplate(
                messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
        }
    }
}
