import Foundation
import Tensor

/// `config.json` of a Llama-family model (Llama 2/3.x, Qwen2/2.5, Qwen3, Mistral, SmolLM, TinyLlama, Gemma 3's
/// text model), with Hugging Face's field names and each family's defaults.
///
/// The families share one decoder; what differs between them is read here once (the fields after `padTokenId`)
/// so that the passes configure each layer up front instead of testing the family per token.
public struct LlamaConfig: Sendable, Equatable {
    public static let supportedModelTypes = ["llama", "qwen2", "qwen3", "mistral", "gemma3_text"]

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
    /// The sliding attention window: Mistral's (every layer), or Gemma 3's local layers'; see `layerWindows`.
    public var slidingWindow: Int?
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var padTokenId: Int?

    /// q_norm and k_norm: an RMSNorm over each head of q and k after the projections, before rotary (Qwen3, Gemma 3).
    public var qkNorm: Bool
    /// Added to every norm weight: 1 for Gemma, whose RMSNorm computes x·r·(1 + w) (checkpoints store the offset w).
    public var normWeightOffset: Float
    /// Gemma's norms on the attention and MLP outputs before each residual add (post_attention_layernorm,
    /// post_feedforward_layernorm); its MLP's input norm is then pre_feedforward_layernorm.
    public var sandwichNorms: Bool
    /// The gate's activation in the gated MLP.
    public var activation: MLPActivation
    /// The factor on the token embeddings: √hidden_size for Gemma (rounded to fp32), else 1.
    public var embeddingScale: Float
    /// The factor on q·k: 1/√head_dim, or Gemma's query_pre_attn_scalar^(−1/2).
    public var attentionScale: Float
    /// logits ← cap·tanh(logits / cap) when set (`final_logit_softcapping`).
    public var finalLogitSoftcap: Float?
    /// Each layer's sliding window, nil for global attention: Mistral's window on every layer, Gemma 3's on its
    /// local layers (`layer_types`, or all but every `sliding_window_pattern`-th).
    public var layerWindows: [Int?]
    /// Gemma 3's rotary base on local layers (`rope_local_base_freq`, never scaled); nil when every layer uses
    /// `ropeTheta` and `ropeScaling`.
    public var localRopeTheta: Double?

    /// Parses and validates `config.json`; `path` names the file in errors. Every field is read with its JSON
    /// type (`900.5`, `true` or `"1e-5"` where a number belongs are errors naming the field, never coerced), and
    /// every number that sizes memory or a loop, or could make NaN, is range-checked here.
    public init(json data: Data, path: String = "config.json") throws {
        let raw = try ModelConfigFile.decode(RawLlamaConfig.self, from: data, path: path)
        try self.init(raw: raw, path: path)
    }

    /// Reads `config.json` from a model directory.
    public init(directory: String) throws {
        let path = directory + "/config.json"
        try self.init(json: Data(try ModelConfigFile.read(path)), path: path)
    }

    /// The largest sizes a config may ask for. Real checkpoints are far below these; above them a product of
    /// two sizes could overflow, and a checkpoint's own shapes are the real bound (see `checkShapes`).
    public static let sizeLimits: [(field: String, limit: Int)] = [
        ("hidden_size", 1 << 16), ("intermediate_size", 1 << 20), ("num_hidden_layers", 1 << 10),
        ("num_attention_heads", 1 << 10), ("num_key_value_heads", 1 << 10), ("head_dim", 1 << 12),
        ("vocab_size", 1 << 24), ("max_position_embeddings", 1 << 24),
    ]

    init(raw c: RawLlamaConfig, path: String) throws {
        func bad(_ field: String, _ reason: String) -> ModelError {
            .badConfig(path: path, reason: "'\(field)' \(reason)")
        }
        guard Self.supportedModelTypes.contains(c.modelType) else {
            throw ModelError.unsupportedModelType(path: path, modelType: c.modelType)
        }
        modelType = c.modelType
        hiddenSize = c.hiddenSize
        intermediateSize = c.intermediateSize
        layerCount = c.numHiddenLayers
        headCount = c.numAttentionHeads
        kvHeadCount = c.numKeyValueHeads ?? c.numAttentionHeads
        vocabSize = c.vocabSize
        maxPositionEmbeddings = c.maxPositionEmbeddings ?? ["qwen3": 32_768, "gemma3_text": 131_072][modelType] ?? 2048
        let sizes = [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                     ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                     ("num_key_value_heads", kvHeadCount), ("vocab_size", vocabSize),
                     ("max_position_embeddings", maxPositionEmbeddings)]
        for (field, value) in sizes + [("head_dim", c.headDim ?? 1)] {
            guard value > 0 else { throw bad(field, "must be positive, got \(value)") }
            let limit = Self.sizeLimits.first { $0.field == field }!.limit
            guard value <= limit else { throw bad(field, "is \(value), beyond the supported \(limit)") }
        }
        // Qwen3 and Gemma 3 default to their own head_dim (transformers' class defaults), not hidden/heads.
        let familyHeadDim = ["qwen3": 128, "gemma3_text": 256][modelType]
        headSize = c.headDim ?? familyHeadDim ?? hiddenSize / headCount
        guard headSize > 0 else {
            throw bad("hidden_size", "\(hiddenSize) is smaller than num_attention_heads \(headCount) (head_dim 0)")
        }
        guard kvHeadCount <= headCount, headCount % kvHeadCount == 0 else {
            throw bad("num_key_value_heads", "\(kvHeadCount) does not divide num_attention_heads \(headCount)")
        }
        guard headSize % 2 == 0 else { throw bad("head_dim", "\(headSize) must be even for rotary") }

        let eps = c.rmsNormEps ?? 1e-6
        guard eps > 0, eps < 1, Float(eps) > 0 else { throw bad("rms_norm_eps", "must be in (0, 1), got \(eps)") }
        rmsNormEps = Float(eps)
        let vocab = vocabSize
        func tokenId(_ field: String, _ id: Int) throws -> Int {
            guard id >= 0 && id < vocab else { throw bad(field, "\(id) is outside the vocabulary of \(vocab)") }
            return id
        }
        bosTokenId = try c.bosTokenId.map { try tokenId("bos_token_id", $0) }
        eosTokenIds = try (c.eosTokenId?.ids ?? []).map { try tokenId("eos_token_id", $0) }
        // Some Llama 1 era configs write -1 for "no padding token".
        padTokenId = try c.padTokenId.flatMap { $0 < 0 ? nil : try tokenId("pad_token_id", $0) }
        if let partial = c.partialRotaryFactor, partial != 1 {
            throw ModelError.unsupportedConfig(path: path, field: "partial_rotary_factor", value: "\(partial)", hint: "")
        }

        // The Llama-style defaults; Qwen3 and Gemma 3 change some of them below.
        let attentionBias = c.attentionBias ?? false
        tieWordEmbeddings = c.tieWordEmbeddings ?? false
        qkvBias = modelType == "qwen2" || attentionBias
        outputBias = modelType == "llama" && attentionBias
        mlpBias = modelType == "llama" && (c.mlpBias ?? false)
        qkNorm = false
        normWeightOffset = 0
        sandwichNorms = false
        activation = .silu
        embeddingScale = 1
        attentionScale = 1 / Float(headSize).squareRoot()
        finalLogitSoftcap = nil
        slidingWindow = nil
        layerWindows = Array(repeating: nil, count: layerCount)
        localRopeTheta = nil
        ropeTheta = c.ropeTheta ?? 10_000
        ropeScaling = .none
        if modelType == "gemma3_text" {
            try readGemma3(c, path: path)
            return
        }

        let activationName = c.hiddenAct ?? "silu"
        guard activationName == "silu" else {
            throw ModelError.unsupportedConfig(path: path, field: "hidden_act", value: activationName, hint: "only silu (SwiGLU)")
        }
        if modelType == "qwen3" {
            // Qwen3 drops Qwen2's fixed q/k/v biases: `attention_bias` puts one on q, k, v and o.
            qkvBias = attentionBias
            outputBias = attentionBias
            qkNorm = true
        }
        if modelType == "mistral", let window = c.slidingWindow {
            guard window > 0 else { throw bad("sliding_window", "must be positive or null, got \(window)") }
            slidingWindow = window
            layerWindows = Array(repeating: window, count: layerCount)
        }
        if modelType == "qwen2" || modelType == "qwen3", c.useSlidingWindow == true {
            throw ModelError.unsupportedConfig(
                path: path, field: "use_sliding_window", value: "true", hint: "Qwen's per-layer sliding window")
        }
        // transformers ≥ 5 writes `rope_parameters` (theta inside); published checkpoints use rope_theta + rope_scaling.
        var scaling = c.ropeScaling
        var thetaField = "rope_theta"
        switch c.ropeParameters {
        case nil:
            break
        case .shared(let parameters):
            if let theta = parameters.ropeTheta {
                ropeTheta = theta
                thetaField = "rope_parameters.rope_theta"
            }
            scaling = parameters
        case .perLayerType:
            throw bad("rope_parameters", "has one entry per layer type, which only Gemma 3 (gemma3_text) reads")
        }
        guard ropeTheta > 1, ropeTheta.isFinite else { throw bad(thetaField, "must be a finite number above 1, got \(ropeTheta)") }
        ropeScaling = try Self.ropeScaling(
            scaling, field: c.ropeParameters == nil ? "rope_scaling" : "rope_parameters",
            maxPositions: maxPositionEmbeddings, path: path)
    }

    static func ropeScaling(_ s: RawRopeScaling?, field: String, maxPositions: Int, path: String) throws -> RotaryScaling {
        guard let s else { return .none }
        let type = s.ropeType ?? s.type ?? "default"
        func value<T>(_ key: String, _ v: T?) throws -> T {
            guard let v else { throw ModelError.badConfig(path: path, reason: "\(field) of type '\(type)' needs '\(key)'") }
            return v
        }
        func positive(_ key: String, _ v: Double?) throws -> Double {
            let x = try value(key, v)
            guard x > 0, x.isFinite, x < 1e6 else {
                throw ModelError.badConfig(path: path, reason: "'\(field).\(key)' must be a positive finite number, got \(x)")
            }
            return x
        }
        switch type {
        case "default":
            return .none
        case "linear":
            return .linear(factor: try positive("factor", s.factor))
        case "dynamic":
            return .dynamic(factor: try positive("factor", s.factor), maxPositions: maxPositions)
        case "llama3":
            let low = try positive("low_freq_factor", s.lowFreqFactor)
            let high = try positive("high_freq_factor", s.highFreqFactor)
            guard high > low else {
                throw ModelError.badConfig(
                    path: path, reason: "'\(field).high_freq_factor' \(high) must exceed low_freq_factor \(low)")
            }
            let original = try value("original_max_position_embeddings", s.originalMaxPositionEmbeddings)
            guard original > 0, original <= 1 << 24 else {
                throw ModelError.badConfig(
                    path: path, reason: "'\(field).original_max_position_embeddings' must be positive, got \(original)")
            }
            return .llama3(factor: try positive("factor", s.factor), lowFreqFactor: low, highFreqFactor: high,
                           originalMaxPositions: original)
        default:
            throw ModelError.unsupportedConfig(
                path: path, field: "\(field).rope_type", value: type, hint: "supported: default, linear, dynamic, llama3")
        }
    }

    /// The rotary embedding of global layers (of every layer but Gemma 3's local ones).
    public var rotary: RotaryEmbedding { RotaryEmbedding(headSize: headSize, theta: ropeTheta, scaling: ropeScaling) }

    /// The rotary embedding of Gemma 3's local layers, nil when they use `rotary` like every other layer.
    public var localRotary: RotaryEmbedding? { localRopeTheta.map { RotaryEmbedding(headSize: headSize, theta: $0) } }

    /// Whether layer `l` takes `localRotary`.
    public func usesLocalRotary(layer l: Int) -> Bool { localRopeTheta != nil && layerWindows[l] != nil }

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
        // Qwen3-0.6B and Gemma 3 1B (text), for benchmarks of the newer families at a real size.
        "qwen3-0.6b": """
            {"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
             "rms_norm_eps": 1e-6, "rope_theta": 1000000, "max_position_embeddings": 40960, "tie_word_embeddings": true}
            """,
        "gemma3-1b": """
            {"model_type": "gemma3_text", "hidden_size": 1152, "intermediate_size": 6912, "num_hidden_layers": 26,
             "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "vocab_size": 262144,
             "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 256, "sliding_window": 512, "sliding_window_pattern": 6,
             "rope_theta": 1000000, "rope_local_base_freq": 10000, "max_position_embeddings": 32768,
             "tie_word_embeddings": true}
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
