import Foundation
import JSON

/// Reading the small JSON files of a model directory (config.json, adapter_config.json): regular files only
/// (a FIFO or device would block or never end), of bounded size, parsed strictly and decoded through Codable.
enum ModelConfigFile {
    /// Larger config files are refused: real ones are a few kilobytes.
    static let maxBytes = 4 << 20

    /// The bytes of a regular file of at most `maxBytes`.
    static func read(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ModelError.badConfig(path: path, reason: "cannot read the file: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ModelError.badConfig(path: path, reason: "not a regular file")
        }
        guard Int(info.st_size) <= maxBytes else {
            throw ModelError.badConfig(path: path, reason: "\(info.st_size) bytes, more than the \(maxBytes) a config may have")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badConfig(path: path, reason: "cannot read the file")
        }
        return [UInt8](data)
    }

    /// Parses with the strict parser (duplicate keys, bad UTF-8 and bad syntax are errors with a byte offset),
    /// then decodes `type`, naming the field of any wrongly typed value.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], path: String) throws -> T {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw ModelError.badConfig(path: path, reason: "not valid UTF-8")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch let error as JSONParseError {
            throw ModelError.badConfig(path: path, reason: "invalid JSON: \(error)")
        }
        guard value.objectValue != nil else { throw ModelError.badConfig(path: path, reason: "not a JSON object") }
        do {
            return try JSONValueDecoder().decode(type, from: value)
        } catch let error as DecodingError {
            throw ModelError.badConfig(path: path, reason: JSONValueDecoder.describe(error))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
        try decode(type, from: [UInt8](data), path: path)
    }
}

/// config.json as Hugging Face writes it; only the fields the engine reads (others are ignored).
struct RawLlamaConfig: Decodable {
    var modelType: String
    var hiddenSize: Int
    var intermediateSize: Int
    var numHiddenLayers: Int
    var numAttentionHeads: Int
    var numKeyValueHeads: Int?
    var headDim: Int?
    var vocabSize: Int
    var rmsNormEps: Double?
    var ropeTheta: Double?
    var ropeScaling: RawRopeScaling?
    var ropeParameters: RawRopeParameters?
    var maxPositionEmbeddings: Int?
    var tieWordEmbeddings: Bool?
    var attentionBias: Bool?
    var mlpBias: Bool?
    var hiddenAct: String?
    var partialRotaryFactor: Double?
    var slidingWindow: Int?
    var useSlidingWindow: Bool?
    var bosTokenId: Int?
    var eosTokenId: TokenIds?
    var padTokenId: Int?
    // Gemma 3
    var hiddenActivation: String?
    var queryPreAttnScalar: Double?
    var finalLogitSoftcapping: Double?
    var attnLogitSoftcapping: Double?
    var layerTypes: [String]?
    var slidingWindowPattern: Int?
    var savedSlidingWindowPattern: Int?
    var ropeLocalBaseFreq: Double?
    var useBidirectionalAttention: Bool?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", vocabSize = "vocab_size"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters", maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case hiddenAct = "hidden_act", partialRotaryFactor = "partial_rotary_factor"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id"
        case hiddenActivation = "hidden_activation", queryPreAttnScalar = "query_pre_attn_scalar"
        case finalLogitSoftcapping = "final_logit_softcapping", attnLogitSoftcapping = "attn_logit_softcapping"
        case layerTypes = "layer_types", slidingWindowPattern = "sliding_window_pattern"
        case savedSlidingWindowPattern = "_sliding_window_pattern", ropeLocalBaseFreq = "rope_local_base_freq"
        case useBidirectionalAttention = "use_bidirectional_attention"
    }
}

/// `rope_parameters` as transformers 5 writes it: one set for every layer, or (Gemma 3) one per layer type,
/// keyed `full_attention` and `sliding_attention`.
enum RawRopeParameters: Decodable {
    case shared(RawRopeScaling)
    case perLayerType([String: RawRopeScaling])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue)
        if keys.contains(where: { $0.hasSuffix("_attention") }) {
            self = .perLayerType(try [String: RawRopeScaling](from: decoder))
        } else {
            self = .shared(try RawRopeScaling(from: decoder))
        }
    }
}

/// `rope_scaling`, or transformers 5's `rope_parameters` (which also holds `rope_theta`).
struct RawRopeScaling: Decodable {
    var ropeType: String?
    var type: String?
    var ropeTheta: Double?
    var factor: Double?
    var lowFreqFactor: Double?
    var highFreqFactor: Double?
    var originalMaxPositionEmbeddings: Int?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor
        case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }
}

/// One token id or a list of them (`eos_token_id` is either).
struct TokenIds: Decodable {
    var ids: [Int]

    init(from decoder: Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let one = try? single.decode(Int.self) {
            ids = [one]
        } else {
            ids = try single.decode([Int].self)
        }
    }
}
