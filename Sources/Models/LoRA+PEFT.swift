import Foundation
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
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badConfig(path: path, reason: "cannot read the file")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.badConfig(path: path, reason: "not a JSON object")
        }
        if let type = json["peft_type"] as? String, type != "LORA" {
            throw ModelError.unsupportedConfig(path: path, field: "peft_type", value: type, hint: "only LORA adapters")
        }
        guard let rank = (json["r"] as? NSNumber)?.intValue, rank > 0 else {
            throw ModelError.badConfig(path: path, reason: "missing positive integer 'r'")
        }
        let alpha = (json["lora_alpha"] as? NSNumber)?.doubleValue ?? 8
        let dropout = (json["lora_dropout"] as? NSNumber)?.doubleValue ?? 0
        let rslora = (json["use_rslora"] as? NSNumber)?.boolValue ?? false
        if let bias = json["bias"] as? String, bias != "none" {
            throw ModelError.unsupportedConfig(path: path, field: "bias", value: bias, hint: "only 'none'")
        }
        for flag in ["fan_in_fan_out", "use_dora"] where (json[flag] as? NSNumber)?.boolValue == true {
            throw ModelError.unsupportedConfig(path: path, field: flag, value: "true", hint: "")
        }
        for pattern in ["rank_pattern", "alpha_pattern"] {
            if let p = json[pattern] as? [String: Any], !p.isEmpty {
                throw ModelError.unsupportedConfig(path: path, field: pattern, value: "\(p.count) entries", hint: "one rank and alpha for all modules")
            }
        }
        if json["layers_to_transform"] is [Any] || json["layers_to_transform"] is NSNumber {
            throw ModelError.unsupportedConfig(path: path, field: "layers_to_transform", value: "set", hint: "adapters on every layer")
        }
        let names: [String]
        if let list = json["target_modules"] as? [String] {
            names = list
        } else if let single = json["target_modules"] as? String {
            names = [single]
        } else {
            throw ModelError.badConfig(path: path, reason: "missing 'target_modules'")
        }
        var modules: [LoRAModule] = []
        for name in names {
            guard let module = LoRAModule(rawValue: name) else {
                throw ModelError.unsupportedConfig(
                    path: path, field: "target_modules", value: name,
                    hint: "supported: \(LoRAModule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            modules.append(module)
        }
        let lora = LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, useRSLoRA: rslora, targetModules: modules)
        let adapter = LoRAAdapter(config: lora, modelConfig: config)
        let file = try SafeTensorsFile(path: directory + "/" + weightsFile)
        try adapter.arena.fill(from: file, location: directory)
        return adapter
    }

    /// Writes the adapter as PEFT does, so `PeftModel.from_pretrained(base, directory)` loads it.
    public func save(directory: String, baseModel: String = "") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": config.rank, "lora_alpha": config.alpha,
            "lora_dropout": config.dropout, "use_rslora": config.useRSLoRA, "bias": "none", "fan_in_fan_out": false,
            "target_modules": config.targetModules.map(\.rawValue), "inference_mode": true, "init_lora_weights": true,
            "base_model_name_or_path": baseModel, "modules_to_save": NSNull(), "use_dora": false,
            "rank_pattern": [String: Any](), "alpha_pattern": [String: Any](),
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: directory + "/" + Self.configFile))
        let entries = arena.tensors().map { SafeTensorsWriter.Entry(name: $0.name, shape: $0.tensor.shape, values: UnsafeBufferPointer($0.tensor.buffer)) }
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], to: directory + "/" + Self.weightsFile)
    }
}

extension LlamaWeights {
    /// Writes the weights as a Hugging Face model directory (config.json is the caller's; see `LlamaConfig`).
    public func save(directory: String, shardName: String = "model.safetensors") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let entries = arena.tensors().map { SafeTensorsWriter.Entry(name: $0.name, shape: $0.tensor.shape, values: UnsafeBufferPointer($0.tensor.buffer)) }
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], to: directory + "/" + shardName)
    }
}
