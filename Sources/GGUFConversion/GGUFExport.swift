import Foundation
import GGUF
import JSON
import Models
import SafeTensors

/// A Hugging Face Llama-family model directory written as one GGUF file that llama.cpp runs: the `<arch>.*`
/// hyper-parameters, the byte-level BPE tokenizer as `tokenizer.*` metadata, and every tensor under llama.cpp's
/// name (q/k rows interleaved for `llama`), matrices as `type`, norms and biases as F32 (as llama.cpp's converter
/// does; a matrix whose rows are not whole Q8_0 blocks falls back to F16).
public enum GGUFExport {
    /// `general.file_type` (llama_ftype) of each output type.
    static let fileTypes: [GGMLType: UInt32] = [.f32: 0, .f16: 1, .q8_0: 7, .bf16: 32]

    /// Converts `directory` into the GGUF file `path` with matrices stored as `type` (F32, F16, BF16 or Q8_0).
    public static func convert(directory: String, to path: String, type: GGMLType) throws {
        precondition(GGMLType.writable.contains(type), "cannot write \(type)")
        let config = try LlamaConfig(directory: directory)
        let configPath = directory + "/config.json"
        func unsupported(_ field: String, _ value: String, _ hint: String) -> GGUFError {
            .unsupportedModel(path: configPath, field: field, value: value, hint: hint)
        }
        let arch: String
        switch config.modelType {
        case "llama", "mistral": arch = "llama"
        case "qwen2": arch = "qwen2"
        default: throw unsupported("model_type", config.modelType, "supported: llama, mistral, qwen2")
        }
        if let window = config.slidingWindow, window < config.maxPositionEmbeddings {
            throw unsupported(
                "sliding_window", "\(window)", "llama.cpp's llama architecture attends to the whole context")
        }
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        let layout = LlamaWeights.layout(config)
        try checkpoint.checkShapes(layout, location: directory)
        let tokenizer = try TokenizerMetadata(directory: directory)

        var writer = GGUFWriter()
        let p = arch + "."
        writer.add("general.architecture", .string(arch))
        writer.add("general.name", .string(URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent))
        writer.add("general.file_type", .uint32(fileTypes[type] ?? 0))
        writer.add("general.quantization_version", .uint32(2))
        writer.add(p + "context_length", .uint32(UInt32(config.maxPositionEmbeddings)))
        writer.add(p + "embedding_length", .uint32(UInt32(config.hiddenSize)))
        writer.add(p + "block_count", .uint32(UInt32(config.layerCount)))
        writer.add(p + "feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        writer.add(p + "attention.head_count", .uint32(UInt32(config.headCount)))
        writer.add(p + "attention.head_count_kv", .uint32(UInt32(config.kvHeadCount)))
        writer.add(p + "rope.dimension_count", .uint32(UInt32(config.headSize)))
        writer.add(p + "rope.freq_base", .float32(Float(config.ropeTheta)))
        writer.add(p + "attention.layer_norm_rms_epsilon", .float32(config.rmsNormEps))
        if config.headSize * config.headCount != config.hiddenSize {
            writer.add(p + "attention.key_length", .uint32(UInt32(config.headSize)))
            writer.add(p + "attention.value_length", .uint32(UInt32(config.headSize)))
        }
        writer.add(p + "vocab_size", .uint32(UInt32(config.vocabSize)))
        switch config.ropeScaling {
        case .none:
            break
        case .linear(let factor):
            writer.add(p + "rope.scaling.type", .string("linear"))
            writer.add(p + "rope.scaling.factor", .float32(Float(factor)))
        default:
            throw unsupported("rope_scaling", "\(config.ropeScaling)", "only linear scaling is exported")
        }
        try tokenizer.add(to: &writer, config: config)

        for (name, shape) in layout {
            guard let ggufName = LlamaTensorNames.ggufName(name) else { continue }
            let matrix = shape.count == 2
            let stored: GGMLType = !matrix ? .f32 : (type == .q8_0 && shape[1] % 32 != 0 ? .f16 : type)
            let heads = arch == "llama"
                ? LlamaTensorNames.permutedHeads(name, headCount: config.headCount, kvHeadCount: config.kvHeadCount)
                : nil
            writer.addTensor(name: ggufName, shape: shape, type: stored) {
                let values = try checkpoint.floats(name)
                guard let heads else { return values }
                return LlamaTensorNames.permute(values, heads: heads, rows: shape[0], columns: matrix ? shape[1] : 1)
            }
        }
        try writer.write(to: path)
    }
}

/// The `tokenizer.*` metadata of a model directory's byte-level BPE tokenizer.json and tokenizer_config.json.
struct TokenizerMetadata {
    let path: String
    let tokens: [String]
    let types: [Int32]
    let merges: [String]
    let pre: String
    let config: JSONValue?
    let addBos: Bool
    let chatTemplate: String?

    init(directory: String) throws {
        let file = directory + "/tokenizer.json"
        path = file
        let root = try Self.parse(file)
        func bad(_ field: String, _ reason: String) -> GGUFError { .badValue(path: file, field: field, reason: reason) }
        guard let model = root["model"], model["type"]?.stringValue ?? "BPE" == "BPE",
              let vocab = model["vocab"]?.objectValue else {
            throw GGUFError.unsupportedModel(
                path: file, field: "model.type", value: root["model"]?["type"]?.stringValue ?? "?",
                                             hint: "only BPE tokenizers are exported")
        }
        if model["byte_fallback"] == .bool(true) {
            throw GGUFError.unsupportedModel(path: file, field: "model.byte_fallback", value: "true",
                                             hint: "SentencePiece-style tokenizers are not exported yet")
        }
        var byId: [Int: String] = [:]
        for (token, value) in vocab {
            guard let id = value.intValue, id >= 0, id < 1 << 24 else {
                throw bad("model.vocab.\(token)", "not a token id")
            }
            byId[id] = token
        }
        var special = Set<Int>(), userDefined = Set<Int>()
        for entry in root["added_tokens"]?.arrayValue ?? [] {
            guard let id = entry["id"]?.intValue, id >= 0, id < 1 << 24,
                  let content = entry["content"]?.stringValue else {
                throw bad("added_tokens", "an entry without an integer id and a content string")
            }
            byId[id] = content
            if entry["special"] == .bool(true) { special.insert(id) } else { userDefined.insert(id) }
        }
        let count = (byId.keys.max() ?? -1) + 1
        tokens = (0..<count).map { byId[$0] ?? "[PAD\($0)]" }
        types = (0..<count).map { id in
            special.contains(id) ? 3 : userDefined.contains(id) ? 4 : byId[id] == nil ? 5 : 1
        }
        merges = try (model["merges"]?.arrayValue ?? []).enumerated().map { index, merge in
            if let s = merge.stringValue { return s }
            if let pair = merge.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                return a + " " + b
            }
            throw bad("model.merges[\(index)]", "expected \"left right\" or [left, right]")
        }
        pre = try Self.preName(root["pre_tokenizer"], path: file)
        let configPath = directory + "/tokenizer_config.json"
        config = FileManager.default.fileExists(atPath: configPath) ? try Self.parse(configPath) : nil
        // add_bos_token: the config's flag, else whether the post-processor's template starts with a special token.
        let template = Self.templateProcessing(root["post_processor"])
        addBos = config?["add_bos_token"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } }
            ?? (template?["single"]?.arrayValue?.first?["SpecialToken"] != nil)
        let jinja = directory + "/chat_template.jinja"
        if let text = try? String(contentsOfFile: jinja, encoding: .utf8) {
            chatTemplate = text
        } else {
            chatTemplate = config?["chat_template"]?.stringValue
        }
    }

    static func parse(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GGUFError.cannotOpen(path: path, reason: "cannot read the file")
        }
        do {
            return try JSONValue.parse([UInt8](data))
        } catch let error as JSONParseError {
            throw GGUFError.badValue(path: path, field: "", reason: "invalid JSON: \(error)")
        }
    }

    static func templateProcessing(_ node: JSONValue?) -> JSONValue? {
        guard let node else { return nil }
        if node["type"]?.stringValue == "TemplateProcessing" { return node }
        return node["processors"]?.arrayValue?.lazy.compactMap { templateProcessing($0) }.first
    }

    /// llama.cpp's name for the pre-tokenizer, recognised from its structure (the ones `GGUFTokenizer` rebuilds).
    static func preName(_ node: JSONValue?, path: String) throws -> String {
        let type = node?["type"]?.stringValue
        let steps = type == "Sequence" ? node?["pretokenizers"]?.arrayValue ?? [] : node.map { [$0] } ?? []
        let kinds = steps.map { $0["type"]?.stringValue ?? "?" }
        let regex = steps.first?["pattern"]?["Regex"]?.stringValue
        if kinds == ["Split", "ByteLevel"], regex == GGUFTokenizer.Regexes.llama3 { return "llama-bpe" }
        if kinds == ["Split", "ByteLevel"], regex == GGUFTokenizer.Regexes.qwen2 { return "qwen2" }
        if kinds == ["Digits", "ByteLevel"], steps[0]["individual_digits"] == .bool(true) { return "smollm" }
        if kinds == ["ByteLevel"], steps[0]["use_regex"] != .bool(false) { return "gpt-2" }
        throw GGUFError.unsupportedModel(
            path: path, field: "pre_tokenizer", value: kinds.joined(separator: "+"),
            hint: "exported: Llama 3, Qwen2, SmolLM and GPT-2 byte-level pre-tokenizers")
    }

    func id(of key: String) -> Int? {
        guard let value = config?[key] else { return nil }
        let name = value.stringValue ?? value["content"]?.stringValue
        return name.flatMap { tokens.firstIndex(of: $0) }
    }

    func add(to writer: inout GGUFWriter, config model: LlamaConfig) throws {
        guard tokens.count <= model.vocabSize else {
            throw GGUFError.badValue(path: path, field: "model.vocab",
                                     reason: "\(tokens.count) tokens for a model vocabulary of \(model.vocabSize)")
        }
        // llama.cpp wants one token per embedding row: rows past the tokenizer's are padding tokens.
        let padded = tokens + (tokens.count..<model.vocabSize).map { "[PAD\($0)]" }
        let paddedTypes = types + [Int32](repeating: 5, count: model.vocabSize - tokens.count)
        writer.add("tokenizer.ggml.model", .string("gpt2"))
        writer.add("tokenizer.ggml.pre", .string(pre))
        writer.add("tokenizer.ggml.tokens", .array(.string(padded)))
        writer.add("tokenizer.ggml.token_type", .array(.int32(paddedTypes)))
        writer.add("tokenizer.ggml.merges", .array(.string(merges)))
        let bos = id(of: "bos_token") ?? model.bosTokenId
        let eos = id(of: "eos_token") ?? model.eosTokenIds.first
        if let bos { writer.add("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos))) }
        if let eos { writer.add("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos))) }
        if let unk = id(of: "unk_token") { writer.add("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unk))) }
        if let pad = id(of: "pad_token") ?? model.padTokenId {
            writer.add("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad)))
        }
        writer.add("tokenizer.ggml.add_bos_token", .bool(addBos && bos != nil))
        writer.add("tokenizer.ggml.add_eos_token", .bool(false))
        if let chatTemplate { writer.add("tokenizer.chat_template", .string(chatTemplate)) }
    }
}
