import ArgumentParser
import Common
import Foundation
import Generation
import Models
import Tensor
import Tokenizers

/// Sampling flags shared by `generate` (and mirrored by the server's request fields).
struct SamplingOptions: ParsableArguments {
    @Option(help: "New tokens at most per prompt.")
    var maxTokens: Int = 128

    @Option(help: "New tokens at least (stop tokens and strings are ignored before).")
    var minTokens: Int = 0

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Keep the k most likely tokens (0: all).")
    var topK: Int = 0

    @Option(help: "Nucleus sampling: keep the most likely tokens up to this probability mass.")
    var topP: Float = 1

    @Option(help: "Penalty > 1 for tokens already in the prompt or output.")
    var repetitionPenalty: Float = 1

    @Option(help: "Seed for sampling: the same seed gives the same text.")
    var seed: UInt64?

    @Option(name: .customLong("stop"), help: "A stop string (repeatable); the output is cut before it.")
    var stops: [String] = []

    @Option(name: .customLong("stop-id"), help: "A stop token id (repeatable), added to the model's end-of-sequence ids.")
    var stopIds: [Int] = []

    /// The sampling parameters these flags describe.
    var parameters: SamplingParameters {
        var p = SamplingParameters()
        p.maxNewTokens = maxTokens
        p.minNewTokens = minTokens
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.repetitionPenalty = repetitionPenalty
        p.seed = seed
        p.stopStrings = stops
        p.stopTokenIds = stopIds
        return p
    }

    func validate() throws {
        do { try parameters.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// `text2grad generate`: continue prompts with a model, streaming a single prompt's tokens to the terminal.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt or a JSONL file of prompts or chat messages.",
        discussion: """
            --prompt TEXT streams the answer to standard output. --input FILE reads JSONL lines with "prompt"
            (text) or "messages" ([{"role", "content"}]); an "id" field is passed through, and each result is
            written as a JSON line with "completion", "tokens", "logprobs" and "finish_reason".
            Prompts go through the model's chat template unless --raw is given (or the tokenizer has none).
            """)

    @OptionGroup var modelOptions: ChatModelOptions

    @Option(help: "A prompt to answer.")
    var prompt: String?

    @Option(help: "A JSONL file of prompts or chat messages.")
    var input: String?

    @Option(help: "Where to write the JSONL results of --input (default: standard output).")
    var output: String?

    @Option(help: "A system message put before each prompt in chat mode.")
    var system: String?

    @Flag(help: "Use the prompt text as is, without the chat template.")
    var raw = false

    @Option(help: "Prompts generated together in one batch.")
    var batchSize: Int = 8

    @Option(help: "Threads for matrix products and kernels.")
    var threads: Int = Compute.defaultThreadCount

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        guard (prompt == nil) != (input == nil) else { throw ValidationError("give exactly one of --prompt and --input") }
        guard batchSize > 0, threads > 0 else { throw ValidationError("--batch-size and --threads must be positive") }
    }

    func run() throws {
        Compute.useThreads(threads)
        let (lm, tokenizer) = try modelOptions.load()
        let generator = Generator(model: lm, tokenizer: tokenizer)
        if let prompt {
            let ids = try promptIds(tokenizer, messages: [ChatMessage(role: "user", content: prompt)], text: prompt)
            let request = GenerationRequest(promptIds: ids, parameters: sampling.parameters)
            let result = try generator.generate([request], onToken: { _, event in
                // A failed write (a full disk behind `>`) stops generating; writing the newline below reports it.
                return (try? StandardOutput.write(Data(event.text.utf8))) != nil
            })[0]
            try StandardOutput.line("")
            note("[\(result.tokenIds.count) tokens, finish: \(result.finishReason.rawValue)]")
            return
        }
        let records = try JSONLines.read(path: input!)
        var requests: [GenerationRequest] = []
        for record in records {
            let ids: [Int]
            if let text = record.object["prompt"] as? String {
                ids = try promptIds(tokenizer, messages: [ChatMessage(role: "user", content: text)], text: text)
            } else if record.object["messages"] != nil {
                let messages: [ChatMessage]
                do {
                    messages = try ChatMessage.list(fromJSON: record.object["messages"])
                } catch {
                    throw FileError.badLine(path: input!, line: record.number, detail: "\(error)")
                }
                ids = try promptIds(tokenizer, messages: messages, text: nil)
            } else {
                throw FileError.badLine(path: input!, line: record.number, detail: "needs \"prompt\" (text) or \"messages\"")
            }
            requests.append(GenerationRequest(promptIds: ids, parameters: sampling.parameters))
        }
        let sink = try JSONLWriter(path: output)
        let started = Date()
        for start in stride(from: 0, to: requests.count, by: batchSize) {
            let end = min(start + batchSize, requests.count)
            let results = try generator.generate(Array(requests[start..<end]))
            for (offset, result) in results.enumerated() {
                let record = records[start + offset]
                var object: [String: Any] = [
                    "line": record.number, "completion": result.text, "tokens": result.tokenIds,
                    "logprobs": result.logprobs.map(Double.init), "finish_reason": result.finishReason.rawValue,
                    "prompt_tokens": result.promptTokens,
                ]
                if let id = record.object["id"] { object["id"] = id }
                try sink.writeLine(try JSONLines.encode(object))
            }
            note("generated \(end)/\(requests.count) (\(Int(Date().timeIntervalSince(started)))s)")
        }
    }

    /// The prompt's ids: through the chat template (with --system) unless --raw or the tokenizer has none.
    func promptIds(_ tokenizer: Tokenizer, messages: [ChatMessage], text: String?) throws -> [Int] {
        if let text, raw || tokenizer.chatTemplate == nil { return tokenizer.encodeIds(text, addSpecialTokens: true) }
        guard tokenizer.chatTemplate != nil else {
            throw ValidationError("chat messages need a tokenizer with a chat template")
        }
        let withSystem = (system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + messages
        return try tokenizer.chatPromptIds(withSystem)
    }
}
