import Foundation
import Tensor

/// `config.json` of a Llama-family model (Llama 2/3.x, Qwen2/2.5, Mistral, SmolLM, TinyLlama),
/// with Hugging Face's field names and defaults.
public struct LlamaConfig: Sendable, Equatable {
    public static let supportedModelTypes = ["llama", "qwen2", "mistral"]

    public var modelType: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headSize: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RotaryScaling
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Biases on q, k, v (Qwen2 always; Llama with `attention_bias`).
    public var qkvBias: Bool
    /// A bias on o_proj (Llama with `attention_bias`).
    public var outputBias: Bool
    /// Biases on gate, up and down (Llama with `mlp_bias`).
    public var mlpBias: Bool
    /// Mistral's sliding attention window, when set.
    public var slidingWindow: Int?
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var padTokenId: Int?

    /// Parses and validates `config.json`; `path` names the file in errors.
    public init(json data: Data, path: String = "config.json") throws {
        guard let object = try? JSONSerialization.jsonObject(with: data), let c = object as? [String: Any] else {
            throw ModelError.badConfig(path: path, reason: "not a JSON object")
        }
        func int(_ key: String) throws -> Int {
            guard let value = c[key] as? NSNumber else { throw ModelError.badConfig(path: path, reason: "missing integer '\(key)'") }
            return value.intValue
        }
        func optionalInt(_ key: String) -> Int? { (c[key] as? NSNumber)?.intValue }
        func number(_ key: String, default value: Double) -> Double { (c[key] as? NSNumber)?.doubleValue ?? value }
        func bool(_ key: String, default value: Bool) -> Bool { (c[key] as? NSNumber)?.boolValue ?? value }

        guard let modelType = c["model_type"] as? String else {
            throw ModelError.badConfig(path: path, reason: "missing 'model_type'")
        }
        guard Self.supportedModelTypes.contains(modelType) else {
            throw ModelError.unsupportedModelType(path: path, modelType: modelType)
        }
        self.modelType = modelType
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        kvHeadCount = optionalInt("num_key_value_heads") ?? headCount
        headSize = optionalInt("head_dim") ?? hiddenSize / max(headCount, 1)
        vocabSize = try int("vocab_size")
        rmsNormEps = Float(number("rms_norm_eps", default: 1e-6))
        ropeTheta = number("rope_theta", default: 10_000)
        maxPositionEmbeddings = optionalInt("max_position_embeddings") ?? 2048
        tieWordEmbeddings = bool("tie_word_embeddings", default: false)
        let attentionBias = bool("attention_bias", default: false)
        qkvBias = modelType == "qwen2" || attentionBias
        outputBias = modelType == "llama" && attentionBias
        mlpBias = modelType == "llama" && bool("mlp_bias", default: false)
        bosTokenId = optionalInt("bos_token_id")
        if let ids = c["eos_token_id"] as? [NSNumber] {
            eosTokenIds = ids.map(\.intValue)
        } else {
            eosTokenIds = optionalInt("eos_token_id").map { [$0] } ?? []
        }
        padTokenId = optionalInt("pad_token_id")

        for (key, value) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                             ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                             ("num_key_value_heads", kvHeadCount), ("vocab_size", vocabSize), ("head_dim", headSize)]
        where value <= 0 {
            throw ModelError.badConfig(path: path, reason: "'\(key)' must be positive, got \(value)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw ModelError.badConfig(
                path: path, reason: "num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(kvHeadCount)")
        }
        guard headSize % 2 == 0 else { throw ModelError.badConfig(path: path, reason: "head_dim \(headSize) must be even for rotary") }
        let activation = (c["hidden_act"] as? String) ?? "silu"
        guard activation == "silu" else {
            throw ModelError.unsupportedConfig(path: path, field: "hidden_act", value: activation, hint: "only silu (SwiGLU)")
        }
        if let partial = c["partial_rotary_factor"] as? NSNumber, partial.doubleValue != 1 {
            throw ModelError.unsupportedConfig(path: path, field: "partial_rotary_factor", value: "\(partial)", hint: "")
        }
        slidingWindow = nil
        if modelType == "mistral" { slidingWindow = optionalInt("sliding_window") }
        if modelType == "qwen2", bool("use_sliding_window", default: false) {
            throw ModelError.unsupportedConfig(
                path: path, field: "use_sliding_window", value: "true", hint: "Qwen2's per-layer sliding window")
        }
        // transformers ≥ 5 writes `rope_parameters` (theta inside); published checkpoints use rope_theta + rope_scaling.
        var scaling = c["rope_scaling"]
        if let parameters = c["rope_parameters"] as? [String: Any] {
            ropeTheta = (parameters["rope_theta"] as? NSNumber)?.doubleValue ?? ropeTheta
            scaling = parameters
        }
        ropeScaling = try Self.parseRopeScaling(scaling, maxPositions: maxPositionEmbeddings, path: path)
    }

    /// Reads `config.json` from a model directory.
    public init(directory: String) throws {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badConfig(path: path, reason: "cannot read the file")
        }
        try self.init(json: data, path: path)
    }

    static func parseRopeScaling(_ value: Any?, maxPositions: Int, path: String) throws -> RotaryScaling {
        guard let scaling = value as? [String: Any] else { return .none }
        let type = (scaling["rope_type"] as? String) ?? (scaling["type"] as? String) ?? "default"
        func number(_ key: String) throws -> Double {
            guard let n = scaling[key] as? NSNumber else {
                throw ModelError.badConfig(path: path, reason: "rope_scaling of type '\(type)' needs '\(key)'")
            }
            return n.doubleValue
        }
        switch type {
        case "default":
            return .none
        case "linear":
            return .linear(factor: try number("factor"))
        case "dynamic":
            return .dynamic(factor: try number("factor"), maxPositions: maxPositions)
        case "llama3":
            return .llama3(
                factor: try number("factor"), lowFreqFactor: try number("low_freq_factor"),
                highFreqFactor: try number("high_freq_factor"),
                originalMaxPositions: Int(try number("original_max_position_embeddings")))
        default:
            throw ModelError.unsupportedConfig(
                path: path, field: "rope_scaling.rope_type", value: type, hint: "supported: default, linear, dynamic, llama3")
        }
    }

    /// The rotary embedding this configuration implies.
    public var rotary: RotaryEmbedding { RotaryEmbedding(headSize: headSize, theta: ropeTheta, scaling: ropeScaling) }

    /// Float operations of a forward pass per token at context length `t` (matmuls and attention).
    public func forwardFlopsPerToken(contextLength t: Int) -> Double {
        let c = Double(hiddenSize), i = Double(intermediateSize)
        let q = Double(headCount * headSize), kv = Double(kvHeadCount * headSize)
        let perLayer = 2 * c * (q + 2 * kv) + 2 * q * c + 2 * 3 * c * i + 2 * 2 * Double(t) * q
        return Double(layerCount) * perLayer + 2 * c * Double(vocabSize)
    }
}

extension LlamaConfig {
    /// Shapes of public models, for benchmarks and tests with random weights.
    public static let namedShapes: [String: String] = [
        "smollm-135m": """
            {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
             "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152, "rms_norm_eps": 1e-5,
             "rope_theta": 10000, "max_position_embeddings": 2048, "tie_word_embeddings": true}
            """,
        // The demo's models: a few million parameters with a ~1k-token vocabulary trained on the task.
        "demo-tiny": """
            {"model_type": "llama", "hidden_size": 192, "intermediate_size": 512, "num_hidden_layers": 4,
             "num_attention_heads": 6, "num_key_value_heads": 2, "vocab_size": 1024, "rms_norm_eps": 1e-5,
             "rope_theta": 10000, "max_position_embeddings": 2048, "tie_word_embeddings": true}
            """,
        "demo-small": """
            {"model_type": "llama", "hidden_size": 256, "intermediate_size": 704, "num_hidden_layers": 6,
             "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 1024, "rms_norm_eps": 1e-5,
             "rope_theta": 10000, "max_position_embeddings": 2048, "tie_word_embeddings": true}
            """,
        "tiny": """
            {"model_type": "llama", "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-5,
             "max_position_embeddings": 512, "tie_word_embeddings": true}
            """,
    ]

    /// The configuration of a named shape (see `namedShapes`).
    public init(shape name: String) throws {
        guard let json = Self.namedShapes[name] else {
            throw ModelError.badInput(reason: "unknown shape '\(name)' (known: \(Self.namedShapes.keys.sorted().joined(separator: ", ")))")
        }
        try self.init(json: Data(json.utf8), path: "shape \(name)")
    }
}
