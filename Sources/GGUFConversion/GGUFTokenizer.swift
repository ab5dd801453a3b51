import Foundation
import GGUF

/// The tokenizer files a GGUF's `tokenizer.*` metadata stands for, in the Hugging Face `tokenizers` format
/// (tokenizer.json, tokenizer_config.json), as convert_hf_to_gguf.py would have read them.
///
/// Supported: `tokenizer.ggml.model` = `gpt2` (byte-level BPE) with `tokenizer.ggml.pre` one of:
/// 1. `llama-bpe` (also `llama3`, `llama-v3`): Llama 3's split regex, whole words kept when in the vocabulary
///    (`ignore_merges`), BOS added by default;
/// 2. `qwen2`: Qwen2's regex (single digits) after NFC, as Qwen2's tokenizer.json has it;
/// 3. `smollm`: single digits, then GPT-2's byte-level regex;
/// 4. `gpt-2` (also `gpt2`): GPT-2's byte-level regex.
/// Anything else is an error naming the model or pre-tokenizer.
struct GGUFTokenizer {
    /// tokenizer.ggml.token_type values.
    enum TokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    let tokens: [String]
    let types: [Int]
    let merges: [String]
    let pre: String
    let bosId: Int?
    let eosId: Int?
    let eotId: Int?
    let padId: Int?
    let unkId: Int?
    let addBos: Bool
    let addEos: Bool
    let chatTemplate: String?

    static let supportedPre = ["llama-bpe", "llama3", "llama-v3", "qwen2", "smollm", "gpt-2", "gpt2"]

    init(file: GGUFFile) throws {
        let path = file.path
        let model = try file.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw GGUFError.unsupportedModel(
                path: path, field: "tokenizer.ggml.model", value: model, hint: "only gpt2 (byte-level BPE) is converted")
        }
        pre = try file.optionalString("tokenizer.ggml.pre") ?? "default"
        guard Self.supportedPre.contains(pre) else {
            throw GGUFError.unsupportedModel(
                path: path, field: "tokenizer.ggml.pre", value: pre,
                hint: "supported: llama-bpe, qwen2, smollm, gpt-2")
        }
        guard let tokens = try file.array("tokenizer.ggml.tokens").strings, !tokens.isEmpty else {
            throw file.wrongTypeError("tokenizer.ggml.tokens", "a non-empty array of strings")
        }
        self.tokens = tokens
        if let typeArray = try file.optionalArray("tokenizer.ggml.token_type") {
            guard let types = typeArray.ints, types.count == tokens.count else {
                throw GGUFError.badValue(
                    path: path, field: "tokenizer.ggml.token_type",
                    reason: "expected \(tokens.count) integers, one per token, found \(typeArray.count)")
            }
            self.types = types
        } else {
            types = [Int](repeating: TokenType.normal.rawValue, count: tokens.count)
        }
        guard let merges = try file.array("tokenizer.ggml.merges").strings else {
            throw file.wrongTypeError("tokenizer.ggml.merges", "an array of strings")
        }
        if let bad = merges.firstIndex(where: { !$0.contains(" ") }) {
            throw GGUFError.badValue(
                path: path, field: "tokenizer.ggml.merges[\(bad)]", reason: "'\(merges[bad])' is not 'left right'")
        }
        self.merges = merges
        func tokenId(_ key: String) throws -> Int? {
            guard let id = try file.optionalInt(key) else { return nil }
            guard id >= 0 && id < tokens.count else {
                throw GGUFError.badValue(path: path, field: key, reason: "\(id) is outside the \(tokens.count) tokens")
            }
            return id
        }
        bosId = try tokenId("tokenizer.ggml.bos_token_id")
        eosId = try tokenId("tokenizer.ggml.eos_token_id")
        eotId = try tokenId("tokenizer.ggml.eot_token_id")
        padId = try tokenId("tokenizer.ggml.padding_token_id")
        unkId = try tokenId("tokenizer.ggml.unknown_token_id")
        let llama3 = ["llama-bpe", "llama3", "llama-v3"].contains(pre)
        addBos = try file.optionalBool("tokenizer.ggml.add_bos_token") ?? llama3
        addEos = try file.optionalBool("tokenizer.ggml.add_eos_token") ?? false
        if addBos && bosId == nil {
            throw GGUFError.missingKey(path: path, key: "tokenizer.ggml.bos_token_id")
        }
        chatTemplate = try file.optionalString("tokenizer.chat_template")
    }

    var isLlama3: Bool { ["llama-bpe", "llama3", "llama-v3"].contains(pre) }

    /// tokenizer.json as a JSON object.
    func tokenizerJSON() -> [String: Any] {
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (id, token) in tokens.enumerated() {
            let type = TokenType(rawValue: types[id]) ?? .normal
            if type == .control || type == .userDefined {
                added.append([
                    "id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": type == .userDefined, "special": type == .control,
                ])
            }
            // The first id of a repeated token string wins, as in llama.cpp's text-to-token map.
            if vocab[token] == nil { vocab[token] = id }
        }
        let byteLevelDecoder: [String: Any] = [
            "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true,
        ]
        var postProcessor: Any = [
            "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true,
        ] as [String: Any]
        if addBos || addEos, let processing = templateProcessing() {
            postProcessor = ["type": "Sequence", "processors": [postProcessor, processing]] as [String: Any]
        }
        return [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": pre == "qwen2" ? ["type": "NFC"] as Any : NSNull(),
            "pre_tokenizer": preTokenizer(), "post_processor": postProcessor, "decoder": byteLevelDecoder,
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": isLlama3, "vocab": vocab, "merges": merges,
            ] as [String: Any],
        ]
    }

    /// BOS before (and EOS after) each sequence, as `add_bos_token` / `add_eos_token` ask.
    func templateProcessing() -> [String: Any]? {
        var single: [[String: Any]] = [], pair: [[String: Any]] = [], special: [String: Any] = [:]
        func token(_ id: Int?, typeId: Int) -> [String: Any]? {
            guard let id else { return nil }
            special[tokens[id]] = ["id": tokens[id], "ids": [id], "tokens": [tokens[id]]]
            return ["SpecialToken": ["id": tokens[id], "type_id": typeId]]
        }
        for (sequence, typeId) in [("A", 0), ("B", 1)] {
            var part: [[String: Any]] = []
            if addBos, let bos = token(bosId, typeId: typeId) { part.append(bos) }
            part.append(["Sequence": ["id": sequence, "type_id": typeId]])
            if addEos, let eos = token(eosId, typeId: typeId) { part.append(eos) }
            if sequence == "A" { single = part }
            pair += part
        }
        return ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special]
    }

    /// The pre-tokenizer of `pre` (see the type's comment).
    func preTokenizer() -> [String: Any] {
        func split(_ regex: String) -> [String: Any] {
            ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false]
        }
        func byteLevel(useRegex: Bool) -> [String: Any] {
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": useRegex]
        }
        switch pre {
        case "llama-bpe", "llama3", "llama-v3":
            return ["type": "Sequence", "pretokenizers": [split(Regexes.llama3), byteLevel(useRegex: false)]]
        case "qwen2":
            return ["type": "Sequence", "pretokenizers": [split(Regexes.qwen2), byteLevel(useRegex: false)]]
        case "smollm":
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Digits", "individual_digits": true] as [String: Any], byteLevel(useRegex: true),
            ]]
        default:
            return byteLevel(useRegex: true)
        }
    }

    /// tokenizer_config.json as transformers writes it for a fast tokenizer.
    func configJSON(maxLength: Int) -> [String: Any] {
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": maxLength,
            "clean_up_tokenization_spaces": false, "add_bos_token": addBos, "add_eos_token": addEos,
        ]
        for (key, id) in [("bos_token", bosId), ("eos_token", eosId), ("pad_token", padId), ("unk_token", unkId)] {
            if let id { config[key] = tokens[id] }
        }
        if let chatTemplate { config["chat_template"] = chatTemplate }
        return config
    }

    /// End-of-sequence ids for generation: EOS, then the end-of-turn token when it differs.
    var eosIds: [Int] {
        var ids: [Int] = []
        for id in [eotId, eosId].compactMap({ $0 }) where !ids.contains(id) { ids.append(id) }
        return ids
    }

    /// The split regexes of Hugging Face's tokenizer.json files (the forms our loader and `tokenizers` know).
    enum Regexes {
        static let llama3 =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        static let qwen2 =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    }
}

extension GGUFFile {
    func wrongTypeError(_ key: String, _ expected: String) -> GGUFError {
        .wrongType(path: path, key: key, expected: expected, found: self[key].map { "\($0.type.name)" } ?? "missing")
    }
}
