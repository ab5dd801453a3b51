import Common
import Foundation
import JSON

/// A trained byte-level BPE vocabulary: special tokens, then byte and merged tokens, then the merges.
public struct TrainedBPE: Sendable, Equatable {
    /// Added special tokens, ids 0…
    public var specialTokens: [String]
    /// Byte strings of the model's tokens, ids specialTokens.count… (the 256 bytes first).
    var tokens: [[UInt8]]
    /// Merges in rank order, as indices into `tokens`.
    var merges: [(Int32, Int32)]

    public static func == (a: TrainedBPE, b: TrainedBPE) -> Bool {
        a.specialTokens == b.specialTokens && a.tokens == b.tokens && a.merges.elementsEqual(b.merges) { $0 == $1 }
    }

    /// Ids in all: special tokens plus model tokens.
    public var vocabularySize: Int { specialTokens.count + tokens.count }

    /// The `tokenizer.json` text: byte-level BPE with SmolLM's pre-tokenizer, post-processor and decoder.
    public func tokenizerJSON() -> String {
        let offset = specialTokens.count
        func name(_ token: Int32) -> String { ByteLevelAlphabet.string(of: tokens[Int(token)]) }
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        out += specialTokens.enumerated().map { id, content in
            "\n    {\"id\": \(id), \"content\": \(JSONValue.quoted(content)), \"single_word\": false, "
                + "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }.joined(separator: ",")
        out += "\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": \(BPETrainer.preTokenizerJSON),\n"
        out += "  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, "
            + "\"use_regex\": true},\n"
        out += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, "
            + "\"use_regex\": true},\n"
        out += "  \"model\": {\n    \"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
            + "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, \"fuse_unk\": false, "
            + "\"byte_fallback\": false, \"ignore_merges\": false,\n    \"vocab\": {"
        var entries = specialTokens.enumerated().map { "\n      \(JSONValue.quoted($1)): \($0)" }
        entries += tokens.indices.map { "\n      \(JSONValue.quoted(name(Int32($0)))): \($0 + offset)" }
        out += entries.joined(separator: ",") + "\n    },\n    \"merges\": ["
        out += merges.map { "\n      [\(JSONValue.quoted(name($0.0))), \(JSONValue.quoted(name($0.1)))]" }
            .joined(separator: ",")
        return out + "\n    ]\n  }\n}\n"
    }

    /// `tokenizer_config.json` with the ChatML template; `<|im_start|>`/`<|im_end|>` must be special tokens.
    public func configJSON(maxLength: Int = 2048) throws -> String {
        for needed in ["<|im_start|>", "<|im_end|>"] where !specialTokens.contains(needed) {
            throw TokenizerError.malformed(
                file: "BPE trainer", path: "special_tokens", reason: "the chat template needs \(needed)")
        }
        let pad = specialTokens.first { $0 != "<|im_start|>" && $0 != "<|im_end|>" } ?? "<|im_end|>"
        return "{\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n  \"model_max_length\": \(maxLength),\n"
            + "  \"clean_up_tokenization_spaces\": false,\n  \"bos_token\": \"<|im_start|>\",\n"
            + "  \"eos_token\": \"<|im_end|>\",\n  \"pad_token\": \(JSONValue.quoted(pad)),\n"
            + "  \"unk_token\": \(JSONValue.quoted(pad)),\n"
            + "  \"chat_template\": \(JSONValue.quoted(ChatTemplates.chatML))\n}\n"
    }

    /// Writes tokenizer.json and tokenizer_config.json into `directory` (created if needed).
    public func write(directory: URL) throws {
        try TokenizerFiles.createDirectory(directory)
        try TokenizerFiles.write(tokenizerJSON(), to: directory.appendingPathComponent("tokenizer.json"))
        try TokenizerFiles.write(configJSON(), to: directory.appendingPathComponent("tokenizer_config.json"))
    }
}

/// Chat templates this package writes into new tokenizers.
public enum ChatTemplates {
    /// ChatML as SmolLM2 writes it, without the default system turn.
    public static let chatML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
        + "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
}

/// Copying a tokenizer into a new model directory.
public enum TokenizerFiles {
    /// Files copied as they are when present.
    public static let names = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

    /// Copies the tokenizer files of `source` into `destination` and loads them back from there.
    /// A tokenizer_config.json without a chat template gets `chatTemplate`, else ChatML when the
    /// vocabulary has `<|im_start|>` and `<|im_end|>`; without either it is an error, because a chat
    /// model's prompts and training data need one.
    public static func install(from source: URL, to destination: URL, chatTemplate: String? = nil) throws -> Tokenizer {
        let tokenizer = try Tokenizer.load(directory: source)
        try createDirectory(destination)
        let fm = FileManager.default
        let inPlace = source.standardizedFileURL.path == destination.standardizedFileURL.path
        for name in names where !inPlace && fm.fileExists(atPath: source.appendingPathComponent(name).path) {
            let target = destination.appendingPathComponent(name)
            do {
                if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
                try fm.copyItem(at: source.appendingPathComponent(name), to: target)
            } catch {
                throw TokenizerError.unwritableFile(path: target.path, reason: writeFailure(error))
            }
        }
        if tokenizer.chatTemplate == nil || chatTemplate != nil {
            let template: String
            if let chatTemplate {
                template = chatTemplate
            } else if tokenizer.id(for: "<|im_start|>") != nil, tokenizer.id(for: "<|im_end|>") != nil {
                template = ChatTemplates.chatML
            } else {
                throw TokenizerError.missingChatTemplate
            }
            let url = destination.appendingPathComponent("tokenizer_config.json")
            var config: JSONValue = [:]
            if let data = fm.contents(atPath: url.path) {
                guard let object = try? JSONValue.parse([UInt8](data)), object.objectValue != nil else {
                    throw TokenizerError.malformed(file: url.path, path: "", reason: "not a JSON object")
                }
                config = object
            }
            config["chat_template"] = JSONValue(template)
            if config["eos_token"] == nil, tokenizer.id(for: "<|im_end|>") != nil { config["eos_token"] = "<|im_end|>" }
            try write(config.sortedDocument + "\n", to: url)
        }
        let installed = try Tokenizer.load(directory: destination)
        let probe = [ChatMessage(role: "user", content: "hi")]
        _ = try installed.applyChatTemplate(messages: probe, addGenerationPrompt: true)
        return installed
    }

    static func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TokenizerError.unwritableFile(path: url.path, reason: writeFailure(error))
        }
    }

    static func write(_ text: String, to url: URL) throws {
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw TokenizerError.unwritableFile(path: url.path, reason: writeFailure(error))
        }
    }
}
