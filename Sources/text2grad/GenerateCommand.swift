import ArgumentParser
import Common
import Foundation
import JSON
import Generation
import Models
import Tensor
import Tokenizers

/// `text2grad generate`: continue prompts with a model, streaming a single prompt's tokens to the terminal.
struct Generate: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt or a JSONL file of prompts or chat messages.",
        discussion: """
            --prompt TEXT streams the answer to standard output. --input FILE reads JSONL lines with "prompt"
            (text) or "messages" ([{"role", "content"}]); an "id" field is passed through, and each result is
            written as a JSON line with "completion", "tokens", "logprobs" and "finish_reason".
            Prompts go through the model's chat template unless --raw is given (or the tokenizer has none).
            """)

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Model") var model: ModelOptions<Generate>
    @OptionGroup(title: "Decoding") var decoding: DecodingOptions<Generate>
    @OptionGroup(title: "Sampling") var sampling: SamplingOptions<Generate>
    @Option(help: "A LoRA adapter directory (PEFT format) to apply.") var adapter: String?
    @Option(help: "A prompt to answer.") var prompt: String?
    @Option(help: "A JSONL file of prompts or chat messages.") var input: String?
    @Option(help: "Where to write the JSONL results of --input (default: standard output).") var output: String?
    @Option(help: "A system message put before each prompt in chat mode.") var system: String?
    @Flag(help: "Use the prompt text as is, without the chat template.") var raw = false
    @Option(help: ArgumentHelp("Prompts generated together in one batch." + Self.defaultNote(\.batchSize)))
    var batchSize: Int?
    @Option(help: ArgumentHelp("Penalty > 1 for tokens already in the prompt or output."
                               + Self.defaultNote(\.repetitionPenalty)))
    var repetitionPenalty: Double?
    @Option(help: "Seed for sampling: the same seed gives the same text.") var seed: UInt64?
    @Option(name: .customLong("stop"), help: "A stop string (repeatable); the output is cut before it.")
    var stop: [String] = []
    @Option(name: .customLong("stop-id"), help: "A stop token id (repeatable), added to the model's end ids.")
    var stopIds: [Int] = []
    @Option(name: .customLong("max-tokens"), help: .hidden) var maxTokens: Int?
    @Option(name: .customLong("min-tokens"), help: .hidden) var minTokens: Int?

    func validate() throws {
        if prompt != nil && input != nil { throw ValidationError("give exactly one of --prompt and --input") }
    }

    func resolvedConfig() throws -> GenerateConfig {
        try Self.resolve(file: file.config) { c in
            c.sampling.override(\.maxNewTokens, maxTokens)
            c.sampling.override(\.minNewTokens, minTokens)
            model.apply(to: &c)
            decoding.apply(to: &c)
            sampling.apply(to: &c)
            c.override(\.adapter, adapter)
            c.override(\.prompt, prompt)
            c.override(\.input, input)
            c.override(\.output, output)
            c.override(\.system, system)
            if raw { c.raw = true }
            c.override(\.batchSize, batchSize)
            c.override(\.repetitionPenalty, repetitionPenalty)
            c.override(\.seed, seed)
            if !stop.isEmpty { c.stop = stop }
            if !stopIds.isEmpty { c.stopIds = stopIds }
        }
    }

    func run() throws {
        let c = try resolvedConfig()
        Compute.useThreads(c.model.threads)
        let (lm, tokenizer) = try LocalModel.load(model: c.model.path, adapter: c.adapter, weights: c.decoding.weights)
        let generator = Generator(model: lm, tokenizer: tokenizer)
        if let prompt = c.prompt {
            let ids = try promptIds(tokenizer, messages: [ChatMessage(role: "user", content: prompt)], text: prompt, c)
            let request = GenerationRequest(promptIds: ids, parameters: c.parameters)
            let result = try generator.generate([request], onToken: { _, event in
                // A failed write (a full disk behind `>`) stops generating; writing the newline below reports it.
                return (try? StandardOutput.write(Data(event.text.utf8))) != nil
            })[0]
            try StandardOutput.line("")
            note("[\(result.tokenIds.count) tokens, finish: \(result.finishReason.rawValue)]")
            return
        }
        let input = c.input!
        let records = try JSONLines.read(path: input)
        var requests: [GenerationRequest] = []
        for record in records {
            let ids: [Int]
            if let text = record.object["prompt"]?.stringValue {
                ids = try promptIds(tokenizer, messages: [ChatMessage(role: "user", content: text)], text: text, c)
            } else if record.object["messages"] != nil {
                let messages: [ChatMessage]
                do {
                    messages = try ChatMessage.list(fromJSON: record.object["messages"])
                } catch {
                    throw FileError.badLine(path: input, line: record.number, detail: "\(error)")
                }
                ids = try promptIds(tokenizer, messages: messages, text: nil, c)
            } else {
                throw FileError.badLine(path: input, line: record.number,
                                        detail: "needs \"prompt\" (text) or \"messages\"")
            }
            requests.append(GenerationRequest(promptIds: ids, parameters: c.parameters))
        }
        let sink = try JSONLWriter(path: c.output)
        let started = Date()
        try generator.generate(requests, batchSize: c.batchSize) { start, results in
            for (offset, result) in results.enumerated() {
                let record = records[start + offset]
                var object: JSONValue = [
                    "line": JSONValue(record.number), "completion": JSONValue(result.text),
                    "tokens": .array(result.tokenIds.map { JSONValue($0) }),
                    "logprobs": .array(result.logprobs.map { JSONValue(Double($0)) }),
                    "finish_reason": JSONValue(result.finishReason.rawValue),
                    "prompt_tokens": JSONValue(result.promptTokens),
                ]
                if let id = record.object["id"] { object["id"] = id }
                try sink.write(object)
            }
            note("generated \(start + results.count)/\(requests.count) (\(Int(Date().timeIntervalSince(started)))s)")
        }
    }

    /// The prompt's ids: through the chat template (with `system`) unless `raw` or the tokenizer has none.
    func promptIds(_ tokenizer: Tokenizer, messages: [ChatMessage], text: String?, _ c: GenerateConfig) throws
        -> [Int]
    {
        if let text, c.raw || tokenizer.chatTemplate == nil { return tokenizer.encodeIds(text, addSpecialTokens: true) }
        guard tokenizer.chatTemplate != nil else {
            throw ValidationError("chat messages need a tokenizer with a chat template")
        }
        let withSystem = (c.system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + messages
        return try tokenizer.chatPromptIds(withSystem)
    }
}
