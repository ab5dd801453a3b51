import Common
import Foundation
import JSON
import SafeTensors
import Tensor

/// Reading and writing adapters in PEFT's format: `adapter_config.json` + `adapter_model.safetensors`.
extension LoRAAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"

    /// Loads a PEFT LoRA adapter directory for a model with `config`, checking every key and shape.
    ///
    /// Accepted: `peft_type` LORA, `bias` none, no `fan_in_fan_out`, no per-layer rank or alpha patterns, no DoRA,
    /// `target_modules` among q/k/v/o/gate/up/down_proj. Anything else is a typed error naming the field.
    public static func load(directory: String, config: LlamaConfig) throws -> LoRAAdapter {
        let path = directory + "/" + configFile
        let raw = try ModelConfigFile.decode(RawAdapterConfig.self, from: try ModelConfigFile.read(path), path: path)
        let lora = try raw.validated(path: path)
        // The file's shapes are checked against the rank and modules before the adapter is allocated.
        let file = try SafeTensorsFile(path: directory + "/" + weightsFile)
        try file.checkShapes(layout(config, lora), location: directory)
        let adapter = LoRAAdapter(config: lora, modelConfig: config)
        try adapter.arena.fill(from: file, location: directory)
        return adapter
    }

    /// Writes the adapter as PEFT does, so `PeftModel.from_pretrained(base, directory)` loads it.
    public func save(directory: String, baseModel: String = "") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json: JSONValue = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": JSONValue(config.rank),
            "lora_alpha": JSONValue(config.alpha), "lora_dropout": JSONValue(config.dropout),
            "use_rslora": JSONValue(config.useRSLoRA), "bias": "none", "fan_in_fan_out": false,
            "target_modules": .array(config.targetModules.map { JSONValue($0.rawValue) }), "inference_mode": true,
            "init_lora_weights": true, "base_model_name_or_path": JSONValue(baseModel), "modules_to_save": .null,
            "use_dora": false, "rank_pattern": [:], "alpha_pattern": [:],
        ]
        try Data(json.sortedDocument.utf8).write(to: URL(fileURLWithPath: directory + "/" + Self.configFile))
        let entries = arena.tensors().map { SafeTensorsWriter.Entry(name: $0.name, shape: $0.tensor.shape, values: UnsafeBufferPointer($0.tensor.buffer)) }
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], to: directory + "/" + Self.weightsFile)
    }
}

/// adapter_config.json as PEFT writes it; only the fields that change what the adapter computes.
struct RawAdapterConfig: Decodable {
    var peftType: String?
    var r: Int
    var loraAlpha: Double?
    var loraDropout: Double?
    var useRslora: Bool?
    var bias: String?
    var fanInFanOut: Bool?
    var useDora: Bool?
    var rankPattern: [String: Double]?
    var alphaPattern: [String: Double]?
    var layersToTransform: TokenIds?
    var targetModules: Names?

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout"
        case useRslora = "use_rslora", bias, fanInFanOut = "fan_in_fan_out", useDora = "use_dora"
        case rankPattern = "rank_pattern", alphaPattern = "alpha_pattern"
        case layersToTransform = "layers_to_transform", targetModules = "target_modules"
    }

    /// One name or a list of names (`target_modules` is either).
    struct Names: Decodable {
        var names: [String]

        init(from decoder: Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let one = try? single.decode(String.self) {
                names = [one]
            } else {
                names = try single.decode([String].self)
            }
        }
    }

    /// The LoRA configuration, or an error naming the field PEFT set that this engine does not support.
    func validated(path: String) throws -> LoRAConfig {
        if let type = peftType, type != "LORA" {
            throw ModelError.unsupportedConfig(path: path, field: "peft_type", value: type, hint: "only LORA adapters")
        }
        guard r > 0, r <= 1 << 14 else { throw ModelError.badConfig(path: path, reason: "'r' must be in 1...16384, got \(r)") }
        let alpha = loraAlpha ?? 8
        guard alpha.isFinite, abs(alpha) < 1e6 else {
            throw ModelError.badConfig(path: path, reason: "'lora_alpha' must be a finite number, got \(alpha)")
        }
        let dropout = loraDropout ?? 0
        guard dropout >= 0, dropout < 1 else {
            throw ModelError.badConfig(path: path, reason: "'lora_dropout' must be in [0, 1), got \(dropout)")
        }
        if let bias, bias != "none" {
            throw ModelError.unsupportedConfig(path: path, field: "bias", value: bias, hint: "only 'none'")
        }
        for (flag, value) in [("fan_in_fan_out", fanInFanOut), ("use_dora", useDora)] where value == true {
            throw ModelError.unsupportedConfig(path: path, field: flag, value: "true", hint: "")
        }
        for (pattern, value) in [("rank_pattern", rankPattern), ("alpha_pattern", alphaPattern)] {
            if let value, !value.isEmpty {
                throw ModelError.unsupportedConfig(
                    path: path, field: pattern, value: "\(value.count) entries", hint: "one rank and alpha for all modules")
            }
        }
        if layersToTransform != nil {
            throw ModelError.unsupportedConfig(path: path, field: "layers_to_transform", value: "set", hint: "adapters on every layer")
        }
        guard let names = targetModules?.names else { throw ModelError.badConfig(path: path, reason: "missing 'target_modules'") }
        let modules = try names.map { name in
            guard let module = LoRAModule(rawValue: name) else {
                throw ModelError.unsupportedConfig(
                    path: path, field: "target_modules", value: name,
                    hint: "supported: \(LoRAModule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return module
        }
        return LoRAConfig(rank: r, alpha: alpha, dropout: dropout, useRSLoRA: useRslora ?? false, targetModules: modules)
    }
}

extension LlamaWeights {
    /// Writes the weights as a Hugging Face model directory (config.json is the caller's; see `LlamaConfig`).
    public func save(directory: String, shardName: String = "model.safetensors", dtype: DType = .f32) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let entries = arena.tensors().map { SafeTensorsWriter.Entry(name: $0.name, shape: $0.tensor.shape, values: UnsafeBufferPointer($0.tensor.buffer)) }
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], dtype: dtype, to: directory + "/" + shardName)
    }
}
