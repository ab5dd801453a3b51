import Foundation
import JSON

/// A Hugging Face tokenizer loaded from `tokenizer.json` (+ `tokenizer_config.json`), giving the same ids,
/// offsets and decoded text as the `tokenizers` library for byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM)
/// and SentencePiece-style BPE (Llama 2, TinyLlama, Mistral), plus the model's chat template.
public final class Tokenizer: Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    let addedTokens: [AddedToken]
    let addedById: [Int: AddedToken]
    let addedByContent: [[UInt8]: AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let byteLevel: Bool
    /// The parsed tokenizer_config.json (null when the file is absent).
    let config: JSONValue

    /// The chat template of tokenizer_config.json, if any.
    public let chatTemplate: String?
    /// `bos_token` of tokenizer_config.json.
    public let bosToken: String?
    /// `eos_token` of tokenizer_config.json.
    public let eosToken: String?
    /// `pad_token` of tokenizer_config.json.
    public let padToken: String?
    /// `unk_token` of tokenizer_config.json.
    public let unkToken: String?

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a model directory. A
    /// `chat_template.jinja` beside them (where transformers ≥ 4.43 saves the template) takes precedence over
    /// the config's `chat_template`, as in transformers.
    public static func load(directory: URL) throws -> Tokenizer {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let templateURL = directory.appendingPathComponent("chat_template.jinja")
        var template: String?
        if FileManager.default.fileExists(atPath: templateURL.path) {
            do { template = try String(contentsOf: templateURL, encoding: .utf8) } catch {
                throw TokenizerError.unreadableFile(path: templateURL.path, reason: error.localizedDescription)
            }
        }
        let data: Data
        do { data = try Data(contentsOf: tokenizerURL) } catch {
            throw TokenizerError.unreadableFile(path: tokenizerURL.path, reason: error.localizedDescription)
        }
        var configData: Data?
        if FileManager.default.fileExists(atPath: configURL.path) {
            do { configData = try Data(contentsOf: configURL) } catch {
                throw TokenizerError.unreadableFile(path: configURL.path, reason: error.localizedDescription)
            }
        }
        return try Tokenizer(tokenizerJSON: data, configJSON: configData, chatTemplate: template)
    }

    /// A tokenizer from the bytes of tokenizer.json and (optionally) tokenizer_config.json; `chatTemplate`, when
    /// given, replaces the config's (the contents of a `chat_template.jinja`).
    public init(tokenizerJSON: Data, configJSON: Data? = nil, chatTemplate template: String? = nil) throws {
        let root = try JSONNode.parse(data: tokenizerJSON, file: "tokenizer.json")
        _ = try root.members()
        let modelNode = root["model"]
        let modelType = try modelNode["type"].optionalString() ?? "BPE"
        guard modelType == "BPE" else { throw modelNode["type"].unsupported() }
        model = try BPEModel(node: modelNode)
        normalizer = try makeNormalizer(root["normalizer"])
        preTokenizer = try makePreTokenizer(root["pre_tokenizer"])
        postProcessor = try makePostProcessor(root["post_processor"])
        decoder = try makeDecoder(root["decoder"])
        byteLevel = preTokenizer?.isByteLevel ?? false
        model.prepare(byteLevel: byteLevel)

        var added: [AddedToken] = []
        if !root["added_tokens"].isNull {
            for node in try root["added_tokens"].array() {
                added.append(
                    AddedToken(
                        id: try node["id"].int(), content: try node["content"].string(),
                        special: try node["special"].bool(default: false),
                        lstrip: try node["lstrip"].bool(default: false),
                        rstrip: try node["rstrip"].bool(default: false),
                        singleWord: try node["single_word"].bool(default: false),
                        normalized: try node["normalized"].bool(default: true)))
            }
        }
        addedTokens = added
        addedById = Dictionary(added.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        addedByContent = Dictionary(added.map { (Array($0.content.utf8), $0) }, uniquingKeysWith: { $1 })
        // `tokenizers` lists special tokens first, then the others, each in file order.
        let ordered = added.filter(\.special) + added.filter { !$0.special }
        rawMatcher = AddedTokenMatcher(ordered.filter { !$0.normalized }.map { (Array($0.content.unicodeScalars), $0) })
        let normalizer = self.normalizer
        normalizedMatcher = AddedTokenMatcher(
            ordered.filter(\.normalized).map { token in
                let scalars = Array(token.content.unicodeScalars)
                let text = NormalizedText(scalars, range: 0..<scalars.count)
                return ((normalizer?.normalize(text) ?? text).scalars, token)
            })

        var configRoot = JSONNode(value: .object([]), file: "tokenizer_config.json")
        if let configJSON {
            configRoot = try JSONNode.parse(data: configJSON, file: "tokenizer_config.json")
            _ = try configRoot.members()
        }
        self.config = configRoot.value ?? .null
        func specialName(_ key: String) throws -> String? {
            let node = configRoot[key]
            if node.isNull { return nil }
            if case .string(let s)? = node.value { return s }
            return try node["content"].string()
        }
        bosToken = try specialName("bos_token")
        eosToken = try specialName("eos_token")
        padToken = try specialName("pad_token")
        unkToken = try specialName("unk_token")
        let templateNode = configRoot["chat_template"]
        if let template {
            chatTemplate = template
        } else if case .string(let s)? = templateNode.value {
            chatTemplate = s
        } else if !templateNode.isNull {
            // A list of named templates: use the one named "default".
            let named = try templateNode.array()
            chatTemplate = try named.first { try $0["name"].string() == "default" }?["template"].string()
        } else {
            chatTemplate = nil
        }
    }

    /// Whether `IncrementalDecoder` may decode from a sliding window (see `isContextFree`).
    var decoderIsContextFree: Bool { isContextFree(decoder) }

    /// Number of ids: the model vocabulary plus added tokens.
    public var vocabSize: Int { max(model.idToToken.count, (addedById.keys.max() ?? -1) + 1) }

    /// The id of a token string (added tokens first, then the model vocabulary).
    public func id(for token: String) -> Int? {
        let key = Array(token.utf8)
        return addedByContent[key]?.id ?? model.vocab[key]
    }

    /// The token string of an id.
    public func token(for id: Int) -> String? { addedById[id]?.content ?? model.token(for: id) }

    /// Id of `bos_token`.
    public var bosTokenId: Int? { bosToken.flatMap(id(for:)) }
    /// Id of `eos_token`.
    public var eosTokenId: Int? { eosToken.flatMap(id(for:)) }
    /// Id of `pad_token`.
    public var padTokenId: Int? { padToken.flatMap(id(for:)) }
    /// The added tokens marked special (skipped by `decode(_:skipSpecialTokens: true)`).
    public var specialTokens: [AddedToken] { addedTokens.filter(\.special) }

    /// Ids that end generation: `eos_token` plus the end-of-turn tokens of known chat formats.
    public var eosTokenIds: [Int] {
        var ids: [Int] = eosTokenId.map { [$0] } ?? []
        for name in ["<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end_of_text|>", "<|endoftext|>", "</s>"] {
            if let token = addedByContent[Array(name.utf8)], token.special, !ids.contains(token.id) {
                ids.append(token.id)
            }
        }
        return ids
    }
}
