import Common
import Foundation
import GGUF
import JSON
import Models
import SafeTensors

/// A GGUF file of a Llama-family model (`general.architecture` = `llama` or `qwen2`) turned into a Hugging Face
/// model directory: config.json and generation_config.json from the `<arch>.*` metadata, model.safetensors with
/// every tensor dequantized (q/k rows put back in Hugging Face's order for `llama`), and the tokenizer files.
public enum GGUFImport {
    public static let architectures = ["llama", "qwen2"]

    /// What a conversion wrote.
    public struct Summary: Sendable {
        public let config: LlamaConfig
        /// llama.cpp tensor type → number of tensors of that type.
        public let tensorTypes: [String: Int]
        public let parameterCount: Int
    }

    /// Converts `path` into `directory` (created if needed; existing files of the same names are replaced),
    /// storing the weights as `dtype` (`.f32`, or `.bf16` rounded to nearest even).
    @discardableResult
    public static func convert(gguf path: String, to directory: String, dtype: DType = .f32) throws -> Summary {
        precondition(dtype == .f32 || dtype == .bf16, "model.safetensors is written in F32 or BF16")
        let file = try GGUFFile(path: path)
        let tokenizer = try GGUFTokenizer(file: file)
        let (configObject, config) = try configuration(file, tokenizer: tokenizer)
        let layout = LlamaWeights.layout(config)
        let expected = Dictionary(uniqueKeysWithValues: layout.map { ($0.name, $0.shape) })

        // Every tensor of the file must be one the model has, with the shape the metadata implies.
        var names: [String: GGUFTensorInfo] = [:]
        for info in file.tensors {
            guard let hf = LlamaTensorNames.hfName(info.name), let shape = expected[hf] else {
                throw GGUFError.unsupportedModel(
                    path: path, field: "tensor", value: info.name, hint: "not part of a \(config.modelType) model")
            }
            guard info.shape == shape else {
                throw GGUFError.badTensor(
                    path: path, tensor: info.name, reason: "shape \(info.shape), the metadata implies \(shape)")
            }
            names[hf] = info
        }
        for (name, _) in layout where names[name] == nil {
            throw GGUFError.missingTensor(path: path, tensor: LlamaTensorNames.ggufName(name) ?? name)
        }

        // One arena for every tensor, in the layout's order, so the writer gets stable buffers.
        let total = layout.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let arena = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(total, 1))
        defer { arena.deallocate() }
        var entries: [SafeTensorsWriter.Entry] = []
        var types: [String: Int] = [:]
        var offset = 0
        for (name, shape) in layout {
            guard let info = names[name], let base = arena.baseAddress else { continue }
            let count = info.elementCount
            let destination = base + offset
            try file.read(info.name, into: destination, count: count)
            if config.modelType == "llama",
               let heads = LlamaTensorNames.permutedHeads(
                   name, headCount: config.headCount, kvHeadCount: config.kvHeadCount) {
                let rows = shape[0], columns = shape.count > 1 ? shape[1] : 1
                guard rows % (2 * heads) == 0 else {
                    throw GGUFError.badTensor(
                        path: path, tensor: info.name, reason: "\(rows) rows do not split into \(heads) heads")
                }
                let original = Array(UnsafeBufferPointer(start: destination, count: count))
                let restored = LlamaTensorNames.unpermute(original, heads: heads, rows: rows, columns: columns)
                destination.update(from: restored, count: count)
            }
            let values = UnsafeBufferPointer(start: UnsafePointer(destination), count: count)
            entries.append(.init(name: name, shape: shape, values: values))
            types[info.type.name, default: 0] += 1
            offset += count
        }

        try createDirectory(directory)
        try writeJSON(configObject, to: directory + "/config.json")
        var generation: [(key: String, value: JSONValue)] = [("_from_model_config", true)]
        if let bos = tokenizer.bosId { generation.append(("bos_token_id", JSONValue(bos))) }
        let eos = tokenizer.eosIds
        if !eos.isEmpty {
            generation.append(("eos_token_id", eos.count == 1 ? JSONValue(eos[0]) : .array(eos.map { JSONValue($0) })))
        }
        if let pad = tokenizer.padId { generation.append(("pad_token_id", JSONValue(pad))) }
        try writeJSON(.object(generation), to: directory + "/generation_config.json")
        try write(tokenizer.tokenizerData(), to: directory + "/tokenizer.json")
        let tokenizerConfig = tokenizer.configJSON(maxLength: config.maxPositionEmbeddings)
        try writeJSON(tokenizerConfig, to: directory + "/tokenizer_config.json")
        var metadata = ["format": "pt", "converted_from": URL(fileURLWithPath: path).lastPathComponent]
        if let name = try? file.optionalString("general.name") { metadata["gguf_name"] = name }
        try SafeTensorsWriter.write(entries, metadata: metadata, dtype: dtype, to: directory + "/model.safetensors")
        return Summary(config: config, tensorTypes: types, parameterCount: total)
    }

    /// The tokenizer.json and tokenizer_config.json bytes a GGUF file's metadata stands for.
    public static func tokenizerFiles(gguf path: String) throws -> (tokenizer: Data, config: Data) {
        let file = try GGUFFile(path: path)
        let tokenizer = try GGUFTokenizer(file: file)
        let context = try file.optionalInt((try file.optionalString("general.architecture") ?? "") + ".context_length")
        let config = Data(tokenizer.configJSON(maxLength: context ?? 2048).sortedDocument.utf8)
        return (tokenizer.tokenizerData(), config)
    }

    /// config.json (as an object to write, and as the engine reads it) from the `<arch>.*` metadata.
    static func configuration(_ file: GGUFFile, tokenizer: GGUFTokenizer) throws -> (JSONValue, LlamaConfig) {
        let path = file.path
        let arch = try file.string("general.architecture")
        guard architectures.contains(arch) else {
            throw GGUFError.unsupportedModel(
                path: path, field: "general.architecture", value: arch, hint: "supported: llama, qwen2")
        }
        let p = arch + "."
        let hidden = try file.int(p + "embedding_length")
        let heads = try file.int(p + "attention.head_count")
        let kvHeads = try file.optionalInt(p + "attention.head_count_kv") ?? heads
        let headSize = try file.optionalInt(p + "attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
        if let valueLength = try file.optionalInt(p + "attention.value_length"), valueLength != headSize {
            throw GGUFError.unsupportedModel(
                path: path, field: p + "attention.value_length", value: "\(valueLength)",
                hint: "value heads must have the key heads' size \(headSize)")
        }
        if let rotary = try file.optionalInt(p + "rope.dimension_count"), rotary != headSize {
            throw GGUFError.unsupportedModel(
                path: path, field: p + "rope.dimension_count", value: "\(rotary)",
                hint: "partial rotary embeddings (the head size is \(headSize))")
        }
        if file.info("rope_freqs.weight") != nil {
            throw GGUFError.unsupportedModel(
                path: path, field: "tensor", value: "rope_freqs.weight", hint: "Llama 3.1-style rope frequency factors")
        }
        guard let embedding = file.info("token_embd.weight") else {
            throw GGUFError.missingTensor(path: path, tensor: "token_embd.weight")
        }
        let vocabSize = embedding.shape[0]
        guard vocabSize >= tokenizer.tokens.count else {
            throw GGUFError.badTensor(
                path: path, tensor: "token_embd.weight",
                reason: "\(vocabSize) rows for \(tokenizer.tokens.count) tokens in tokenizer.ggml.tokens")
        }
        func shortest(_ x: Double) -> Double { Double(String(describing: Float(x))) ?? x }
        var object: [(key: String, value: JSONValue)] = [
            ("architectures", [JSONValue(arch == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM")]),
            ("model_type", JSONValue(arch)),
            ("hidden_size", JSONValue(hidden)),
            ("intermediate_size", JSONValue(try file.int(p + "feed_forward_length"))),
            ("num_hidden_layers", JSONValue(try file.int(p + "block_count"))),
            ("num_attention_heads", JSONValue(heads)),
            ("num_key_value_heads", JSONValue(kvHeads)),
            ("vocab_size", JSONValue(vocabSize)),
            ("max_position_embeddings", JSONValue(try file.optionalInt(p + "context_length") ?? 2048)),
            ("rms_norm_eps",
             JSONValue(shortest(try file.optionalDouble(p + "attention.layer_norm_rms_epsilon") ?? 1e-5))),
            ("rope_theta", JSONValue(shortest(try file.optionalDouble(p + "rope.freq_base") ?? 10_000))),
            ("tie_word_embeddings", JSONValue(file.info("output.weight") == nil)),
            ("hidden_act", "silu"),
            ("torch_dtype", "float32"),
        ]
        if heads > 0, headSize != hidden / heads { object.append(("head_dim", JSONValue(headSize))) }
        if arch == "llama" {
            object.append(("attention_bias", JSONValue(file.info("blk.0.attn_q.bias") != nil)))
            object.append(("mlp_bias", JSONValue(file.info("blk.0.ffn_up.bias") != nil)))
        }
        if let bos = tokenizer.bosId { object.append(("bos_token_id", JSONValue(bos))) }
        if let eos = tokenizer.eosId { object.append(("eos_token_id", JSONValue(eos))) }
        if let pad = tokenizer.padId { object.append(("pad_token_id", JSONValue(pad))) }
        let scaling = try file.optionalString(p + "rope.scaling.type") ?? "none"
        switch scaling {
        case "none":
            break
        case "linear":
            guard let factor = try file.optionalDouble(p + "rope.scaling.factor") else {
                throw GGUFError.missingKey(path: path, key: p + "rope.scaling.factor")
            }
            object.append(("rope_scaling", ["type": "linear", "factor": JSONValue(shortest(factor))]))
        default:
            throw GGUFError.unsupportedModel(
                path: path, field: p + "rope.scaling.type", value: scaling, hint: "supported: none, linear")
        }
        let data = Data(JSONValue.object(object).sortedDocument.utf8)
        let config: LlamaConfig
        do {
            config = try LlamaConfig(json: data, path: path + " (metadata as config.json)")
        } catch let error as ModelError {
            throw GGUFError.badValue(path: path, field: p + "*", reason: error.description)
        }
        if let eos = tokenizer.eosId, eos >= vocabSize {
            throw GGUFError.badValue(
                path: path, field: "tokenizer.ggml.eos_token_id", reason: "\(eos) is outside the vocabulary")
        }
        return (.object(object), config)
    }

    /// A JSON file: keys sorted, pretty-printed.
    static func writeJSON(_ value: JSONValue, to path: String) throws {
        try write(Data(value.sortedDocument.utf8), to: path)
    }

    static func write(_ data: Data, to path: String) throws {
        do {
            var data = data
            data.append(0x0A)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch let error as GGUFError {
            throw error
        } catch {
            throw GGUFError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw GGUFError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }
}
