import Common
import Foundation
import JSON

/// A freshly initialised Hugging Face model directory, as `transformers` makes one from a config:
/// normal(0, `initializer_range`) matrices and embeddings, unit norms, zero biases (`init-model`).
public enum RandomModel {
    /// The architecture name transformers expects in `architectures` for each model type.
    static let architectures = [
        "llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM",
        "qwen3": "Qwen3ForCausalLM", "gemma3_text": "Gemma3ForCausalLM",
    ]

    /// The config.json object of a new model.
    ///
    /// Policy: `base` is a named shape or the user's config.json; `vocab_size` becomes the tokenizer's
    /// (`vocabularySize`), unless `base` states a larger one and `keepLargerVocabulary` is set (padded
    /// vocabularies); a smaller stated one is an error. Special token ids come from the tokenizer. Every
    /// field this package reads is written explicitly, so transformers' defaults cannot differ from ours.
    public static func configObject(
        base: JSONValue, vocabularySize: Int, bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?,
        keepLargerVocabulary: Bool, initializerRange: Float = 0.02
    ) throws -> JSONValue {
        guard base.objectValue != nil else { throw ModelError.badInput(reason: "a config must be a JSON object") }
        var object = base
        if let stated = base["vocab_size"]?.intValue, keepLargerVocabulary {
            guard stated >= vocabularySize else {
                throw ModelError.badInput(
                    reason: "config.json has vocab_size \(stated) but the tokenizer has \(vocabularySize) ids")
            }
        } else {
            object["vocab_size"] = JSONValue(vocabularySize)
        }
        for (key, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId), ("pad_token_id", padTokenId)] {
            object[key] = JSONValue(id)
        }
        let config = try LlamaConfig(json: Data(object.serialized().utf8), path: "the new model's config")
        object["architectures"] = [JSONValue(architectures[config.modelType] ?? "LlamaForCausalLM")]
        object["initializer_range"] = JSONValue(Double(initializerRange))
        object["torch_dtype"] = "float32"
        let activation: (String, JSONValue) = config.activation == .geluTanh
            ? ("hidden_activation", "gelu_pytorch_tanh") : ("hidden_act", "silu")
        let defaults: [(String, JSONValue)] = [
            activation, ("use_cache", true), ("num_key_value_heads", JSONValue(config.kvHeadCount)),
            ("head_dim", JSONValue(config.headSize)), ("rms_norm_eps", JSONValue(Double(config.rmsNormEps))),
            ("max_position_embeddings", JSONValue(config.maxPositionEmbeddings)),
            ("tie_word_embeddings", JSONValue(config.tieWordEmbeddings)),
        ]
        for (key, value) in defaults where object[key] == nil { object[key] = value }
        if object["rope_theta"] == nil && object["rope_parameters"] == nil {
            object["rope_theta"] = JSONValue(Double(config.ropeTheta))
        }
        if config.modelType == "gemma3_text" {
            let layerTypes = config.layerWindows.map { JSONValue($0 == nil ? "full_attention" : "sliding_attention") }
            var gemma: [(String, JSONValue)] = [("query_pre_attn_scalar", 256), ("layer_types", .array(layerTypes))]
            if let window = config.slidingWindow { gemma.append(("sliding_window", JSONValue(window))) }
            if object["rope_parameters"] == nil, let local = config.localRopeTheta {
                gemma.append(("rope_local_base_freq", JSONValue(Double(local))))
            }
            for (key, value) in gemma where object[key] == nil { object[key] = value }
        }
        return object
    }

    /// Writes config.json, generation_config.json and model.safetensors for `config` into `directory`,
    /// weights drawn from `seed`; the same seed gives the same bytes. Returns the parsed config.
    @discardableResult
    public static func write(config object: JSONValue, seed: UInt64, directory: String) throws -> LlamaConfig {
        let data = Data(object.sortedDocument.utf8)
        let config = try LlamaConfig(json: data, path: directory + "/config.json")
        let std = Float(object["initializer_range"]?.numberValue ?? 0.02)
        guard std.isFinite, std > 0, std < 1 else {
            throw ModelError.badInput(reason: "initializer_range must lie in (0, 1), got \(std)")
        }
        let weights = LlamaWeights(config: config)
        weights.randomize(seed: seed, std: std)
        try weights.save(directory: directory)
        var generation: JSONValue = ["_from_model_config": true]
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] { generation[key] = object[key] ?? .null }
        let generationData = Data(generation.sortedDocument.utf8)
        for (name, bytes) in [("config.json", data), ("generation_config.json", generationData)] {
            do {
                try (bytes + Data("\n".utf8)).write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic)
            } catch {
                throw ModelError.badInput(reason: "cannot write \(directory)/\(name): \(error.localizedDescription)")
            }
        }
        return config
    }

    /// The parsed JSON object of a named shape (see `LlamaConfig.namedShapes`).
    public static func shapeObject(_ name: String) throws -> JSONValue {
        guard let json = LlamaConfig.namedShapes[name], let object = try? JSONValue.parse(json),
              object.objectValue != nil
        else {
            let known = LlamaConfig.namedShapes.keys.sorted().joined(separator: ", ")
            throw ModelError.badInput(reason: "unknown shape '\(name)' (known: \(known))")
        }
        return object
    }
}
