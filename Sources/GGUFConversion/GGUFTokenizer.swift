import Common
import Foundation
import GGUF
import JSON

/// The tokenizer files a GGUF's `tokenizer.*` metadata stands for, in the Hugging Face `tokenizers` format
/// (tokenizer.json, tokenizer_config.json), as convert_hf_to_gguf.py would have read them.
///
/// Supported: `tokenizer.ggml.model` = `gpt2` (byte-level BPE) with `tokenizer.ggml.pre` one of:
/// 1. `llama-bpe` (also `llama3`, `llama-v3`): Llama 3's split regex, whole words kept when in the vocabulary
///    (`ignore_merges`), BOS added by default;
/// 2. `qwen2`: Qwen2's regex (single digits) after NFC, as Qwen2's tokenizer.json has it;
/// 3. `smollm`: single digits, then GPT-2's byte-level regex;
/// 4. `gpt-2` (also `gpt2`): GPT-2's byte-level regex;
/// and `llama` (SentencePiece BPE: Llama 2, TinyLlama, Mistral), which stores scores instead of merges: the merges
/// are rebuilt from them as transformers does for GGUF files (every split of a token into two vocabulary pieces,
/// ranked by the token's score), with `▁` for spaces, a `▁` prefix (`add_space_prefix`) and `<0xXX>` byte fallback.
/// Anything else is an error naming the model or pre-tokenizer.
struct GGUFTokenizer {
    /// tokenizer.ggml.token_type values.
    enum TokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    let tokens: [String]
    let types: [Int]
    let merges: [String]
    /// `gpt2` or `llama`.
    let model: String
    let pre: String
    /// SentencePiece scores (`llama` only).
    let scores: [Float]
    let addSpacePrefix: Bool
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
        model = try file.string("tokenizer.ggml.model")
        guard model == "gpt2" || model == "llama" else {
            throw GGUFError.unsupportedModel(
                path: path, field: "tokenizer.ggml.model", value: model,
                hint: "supported: gpt2 (byte-level BPE), llama (SentencePiece)")
        }
        pre = try file.optionalString("tokenizer.ggml.pre") ?? "default"
        guard model == "llama" || Self.supportedPre.contains(pre) else {
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
        if model == "llama" {
            guard let scores = try file.array("tokenizer.ggml.scores").floats, scores.count == tokens.count else {
                throw GGUFError.badValue(
                    path: path, field: "tokenizer.ggml.scores",
                    reason: "expected \(tokens.count) floats, one per token")
            }
            self.scores = scores
        } else {
            scores = []
        }
        addSpacePrefix = try file.optionalBool("tokenizer.ggml.add_space_prefix") ?? true
        let merges: [String]
        if model == "llama", file["tokenizer.ggml.merges"] == nil {
            merges = Self.mergesFromScores(tokens, types, scores)
        } else {
            guard let listed = try file.array("tokenizer.ggml.merges").strings else {
                throw file.wrongTypeError("tokenizer.ggml.merges", "an array of strings")
            }
            merges = listed
        }
        if let bad = merges.firstIndex(where: { !$0.unicodeScalars.contains(" ") }) {
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
        let llama3 = model == "gpt2" && ["llama-bpe", "llama3", "llama-v3"].contains(pre)
        addBos = try file.optionalBool("tokenizer.ggml.add_bos_token") ?? (llama3 || model == "llama")
        addEos = try file.optionalBool("tokenizer.ggml.add_eos_token") ?? false
        if addBos && bosId == nil {
            throw GGUFError.missingKey(path: path, key: "tokenizer.ggml.bos_token_id")
        }
        chatTemplate = try file.optionalString("tokenizer.chat_template")
    }

    var isLlama3: Bool { model == "gpt2" && ["llama-bpe", "llama3", "llama-v3"].contains(pre) }

    /// SentencePiece merges as transformers rebuilds them from a GGUF's scores: for each normal token, every split
    /// into two vocabulary pieces (ordered by the pieces' ids), all ranked by the whole token's score, highest first.
    static func mergesFromScores(_ tokens: [String], _ types: [Int], _ scores: [Float]) -> [String] {
        // Keyed and split by Unicode scalars: Swift's String equality would take "é" for "e" + U+0301.
        var ids: [[Unicode.Scalar]: Int] = [:]
        for (id, token) in tokens.enumerated() where ids[Array(token.unicodeScalars)] == nil {
            ids[Array(token.unicodeScalars)] = id
        }
        var candidates: [(left: Int, right: Int, score: Float, text: String)] = []
        for (id, token) in tokens.enumerated() where types[id] == TokenType.normal.rawValue {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1 else { continue }
            var local: [(left: Int, right: Int, score: Float, text: String)] = []
            for cut in 1..<scalars.count {
                let left = Array(scalars[..<cut]), right = Array(scalars[cut...])
                if let l = ids[left], let r = ids[right] {
                    var text = String.UnicodeScalarView()
                    text.append(contentsOf: left)
                    text.append(" ")
                    text.append(contentsOf: right)
                    local.append((l, r, scores[id], String(text)))
                }
            }
            candidates += local.sorted { ($0.left, $0.right) < ($1.left, $1.right) }
        }
        // A stable sort by score keeps the per-token order among equal scores.
        let ranked = candidates.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }
        return ranked.map(\.element.text)
    }

    /// tokenizer.json as a JSON object, `model.vocab` left as `vocabMarker` (see `tokenizerData`).
    func tokenizerJSON() -> JSONValue {
        model == "llama" ? sentencePieceJSON() : byteLevelJSON()
    }

    static let vocabMarker = "@@vocab@@"

    /// The bytes of tokenizer.json. The vocabulary is written by hand, one `"token": id` a line in id order, rather
    /// than as an object whose keys would be sorted; the first id of a token string repeated byte for byte
    /// wins, as in llama.cpp's text-to-token map.
    func tokenizerData() -> Data {
        var seen = Set<[UInt8]>()
        var entries: [String] = []
        for (id, token) in tokens.enumerated() where seen.insert(Array(token.utf8)).inserted {
            entries.append("\(JSONValue.quoted(token)): \(id)")
        }
        var text = tokenizerJSON().sortedDocument
        // The marker as the value of the "vocab" key (a token whose text is the marker stays as it is).
        let quoted = "\"\(Self.vocabMarker)\""
        var searchStart = text.startIndex
        while let found = text.range(of: quoted, range: searchStart..<text.endIndex) {
            let before = text[..<found.lowerBound].trimmingCharacters(in: .whitespaces)
            if before.hasSuffix(":"), before.dropLast().trimmingCharacters(in: .whitespaces).hasSuffix("\"vocab\"") {
                text.replaceSubrange(found, with: "{\n" + entries.joined(separator: ",\n") + "\n}")
                break
            }
            searchStart = found.upperBound
        }
        return Data(text.utf8)
    }

    /// The special (control, unknown) and user-defined tokens, matched in the raw text before anything else.
    func addedTokens() -> [JSONValue] {
        tokens.enumerated().compactMap { id, token in
            let type = TokenType(rawValue: types[id]) ?? .normal
            guard type == .control || type == .userDefined || (model == "llama" && type == .unknown) else { return nil }
            return [
                "id": JSONValue(id), "content": JSONValue(token), "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": JSONValue(type != .userDefined),
            ]
        }
    }

    /// Llama 2-style tokenizer.json: `▁` for spaces (and as a prefix), BPE with byte fallback and fused unknowns.
    func sentencePieceJSON() -> JSONValue {
        var normalizers: [JSONValue] = []
        if addSpacePrefix { normalizers.append(["type": "Prepend", "prepend": "\u{2581}"]) }
        normalizers.append(["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"])
        var decoders: [JSONValue] = [
            ["type": "Replace", "pattern": ["String": "\u{2581}"], "content": " "],
            ["type": "ByteFallback"], ["type": "Fuse"],
        ]
        if addSpacePrefix { decoders.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
        return [
            "version": "1.0", "truncation": .null, "padding": .null, "added_tokens": .array(addedTokens()),
            "normalizer": ["type": "Sequence", "normalizers": .array(normalizers)], "pre_tokenizer": .null,
            "post_processor": (addBos || addEos ? templateProcessing() : nil) ?? .null,
            "decoder": ["type": "Sequence", "decoders": .array(decoders)],
            "model": [
                "type": "BPE", "dropout": .null, "unk_token": JSONValue(unkId.map { tokens[$0] }),
                "continuing_subword_prefix": .null, "end_of_word_suffix": .null, "fuse_unk": true,
                "byte_fallback": true, "ignore_merges": false, "vocab": JSONValue(Self.vocabMarker),
                "merges": .array(merges.map { .string($0) }),
            ],
        ]
    }

    /// Byte-level BPE tokenizer.json (GPT-2, Llama 3, Qwen2, SmolLM).
    func byteLevelJSON() -> JSONValue {
        let byteLevelDecoder: JSONValue = [
            "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true,
        ]
        var postProcessor: JSONValue = [
            "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true,
        ]
        if addBos || addEos, let processing = templateProcessing() {
            postProcessor = ["type": "Sequence", "processors": [postProcessor, processing]]
        }
        return [
            "version": "1.0", "truncation": .null, "padding": .null, "added_tokens": .array(addedTokens()),
            "normalizer": pre == "qwen2" ? ["type": "NFC"] : .null,
            "pre_tokenizer": preTokenizer(), "post_processor": postProcessor, "decoder": byteLevelDecoder,
            "model": [
                "type": "BPE", "dropout": .null, "unk_token": .null, "continuing_subword_prefix": .null,
                "end_of_word_suffix": .null, "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": JSONValue(isLlama3), "vocab": JSONValue(Self.vocabMarker),
                "merges": .array(merges.map { .string($0) }),
            ],
        ]
    }

    /// BOS before (and EOS after) each sequence, as `add_bos_token` / `add_eos_token` ask.
    func templateProcessing() -> JSONValue? {
        var single: [JSONValue] = [], pair: [JSONValue] = [], special: [(key: String, value: JSONValue)] = []
        func token(_ id: Int?, typeId: Int) -> JSONValue? {
            guard let id else { return nil }
            let text = JSONValue(tokens[id])
            if !special.contains(where: { $0.key == tokens[id] }) {
                special.append((tokens[id], ["id": text, "ids": [JSONValue(id)], "tokens": [text]]))
            }
            return ["SpecialToken": ["id": text, "type_id": JSONValue(typeId)]]
        }
        for (sequence, typeId) in [("A", 0), ("B", 1)] {
            var part: [JSONValue] = []
            if addBos, let bos = token(bosId, typeId: typeId) { part.append(bos) }
            part.append(["Sequence": ["id": JSONValue(sequence), "type_id": JSONValue(typeId)]])
            if addEos, let eos = token(eosId, typeId: typeId) { part.append(eos) }
            if sequence == "A" { single = part }
            pair += part
        }
        return [
            "type": "TemplateProcessing", "single": .array(single), "pair": .array(pair),
            "special_tokens": .object(special),
        ]
    }

    /// The pre-tokenizer of `pre` (see the type's comment).
    func preTokenizer() -> JSONValue {
        func split(_ regex: String) -> JSONValue {
            ["type": "Split", "pattern": ["Regex": JSONValue(regex)], "behavior": "Isolated", "invert": false]
        }
        func byteLevel(useRegex: Bool) -> JSONValue {
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": JSONValue(useRegex)]
        }
        switch pre {
        case "llama-bpe", "llama3", "llama-v3":
            return ["type": "Sequence", "pretokenizers": [split(Regexes.llama3), byteLevel(useRegex: false)]]
        case "qwen2":
            return ["type": "Sequence", "pretokenizers": [split(Regexes.qwen2), byteLevel(useRegex: false)]]
        case "smollm":
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Digits", "individual_digits": true], byteLevel(useRegex: true),
            ]]
        default:
            return byteLevel(useRegex: true)
        }
    }

    /// tokenizer_config.json as transformers writes it for a fast tokenizer.
    func configJSON(maxLength: Int) -> JSONValue {
        var config: [(key: String, value: JSONValue)] = [
            ("tokenizer_class", "PreTrainedTokenizerFast"), ("model_max_length", JSONValue(maxLength)),
            ("clean_up_tokenization_spaces", false), ("add_bos_token", JSONValue(addBos)),
            ("add_eos_token", JSONValue(addEos)),
        ]
        for (key, id) in [("bos_token", bosId), ("eos_token", eosId), ("pad_token", padId), ("unk_token", unkId)] {
            if let id { config.append((key, JSONValue(tokens[id]))) }
        }
        if let chatTemplate { config.append(("chat_template", JSONValue(chatTemplate))) }
        return .object(config)
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
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"#
            + #" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        static let qwen2 =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"#
            + #" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    }
}

extension GGUFFile {
    func wrongTypeError(_ key: String, _ expected: String) -> GGUFError {
        .wrongType(path: path, key: key, expected: expected, found: self[key].map { "\($0.type.name)" } ?? "missing")
    }
}
