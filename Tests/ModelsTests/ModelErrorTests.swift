import Foundation
import Models
import SafeTensors
import Testing

/// Configs and checkpoints the engine cannot use fail with errors that name the field or tensor.
@Suite struct ModelErrorTests {
    static var base: [String: Any] { [
        "model_type": "llama", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10,
    ] }

    func config(_ changes: [String: Any]) throws -> LlamaConfig {
        let json = Self.base.merging(changes) { $1 }
        return try LlamaConfig(json: try JSONSerialization.data(withJSONObject: json), path: "test/config.json")
    }

    @Test func unknownModelTypeIsNamed() {
        #expect(throws: ModelError.unsupportedModelType(path: "test/config.json", modelType: "gpt_neox")) {
            try config(["model_type": "gpt_neox"])
        }
    }

    @Test func unsupportedFieldsAreNamed() {
        #expect(throws: ModelError.unsupportedConfig(path: "test/config.json", field: "hidden_act", value: "gelu", hint: "only silu (SwiGLU)")) {
            try config(["hidden_act": "gelu"])
        }
        #expect(throws: ModelError.self) { try config(["rope_scaling": ["rope_type": "yarn", "factor": 4]]) }
        #expect(throws: ModelError.self) { try config(["model_type": "qwen2", "use_sliding_window": true]) }
        #expect(throws: ModelError.self) { try config(["num_key_value_heads": 3]) }
        #expect(throws: ModelError.self) { try config(["rope_scaling": ["rope_type": "llama3", "factor": 8]]) }
    }

    @Test func bothRopeConfigFormsAreRead() throws {
        let classic = try config(["rope_theta": 500_000, "rope_scaling": ["type": "linear", "factor": 2]])
        let modern = try config(["rope_parameters": ["rope_theta": 500_000, "rope_type": "linear", "factor": 2]])
        #expect(classic.ropeTheta == 500_000 && classic.ropeScaling == .linear(factor: 2))
        #expect(modern == classic)
    }

    /// Copies a fixture model, rewrites one tensor of its checkpoint, and returns the directory.
    func fixtureCopy(
        replacing name: String, with replacement: (name: String, shape: [Int])?, adding extra: String? = nil
    ) throws -> String {
        let source = Fixtures.model("llama-gqa")
        let target = NSTemporaryDirectory() + "model-errors-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: target + "/config.json")
        let original = try SafeTensorsFile(path: source + "/model.safetensors")
        var stored: [(String, [Int], [Float])] = []
        for info in original.tensors {
            if info.name == name {
                if let replacement {
                    stored.append((replacement.name, replacement.shape, [Float](repeating: 0, count: replacement.shape.reduce(1, *))))
                }
            } else {
                stored.append((info.name, info.shape, try original.floats(info.name)))
            }
        }
        if let extra { stored.append((extra, [4], [1, 2, 3, 4])) }
        func write(_ index: Int, _ entries: [SafeTensorsWriter.Entry]) throws {
            if index == stored.count {
                try SafeTensorsWriter.write(entries, to: target + "/model.safetensors")
                return
            }
            try stored[index].2.withUnsafeBufferPointer {
                try write(index + 1, entries + [.init(name: stored[index].0, shape: stored[index].1, values: $0)])
            }
        }
        try write(0, [])
        return target
    }

    @Test func missingTensorIsNamed() throws {
        let directory = try fixtureCopy(replacing: "model.layers.1.mlp.down_proj.weight", with: nil)
        #expect(throws: ModelError.missingTensor(name: "model.layers.1.mlp.down_proj.weight", directory: directory)) {
            try LlamaModel(directory: directory)
        }
    }

    @Test func misshapedTensorIsNamed() throws {
        let name = "model.layers.0.self_attn.k_proj.weight"
        let directory = try fixtureCopy(replacing: name, with: (name, [64, 32]))
        #expect(throws: ModelError.shapeMismatch(name: name, expected: [32, 64], found: [64, 32], directory: directory)) {
            try LlamaModel(directory: directory)
        }
    }

    @Test func unusedTensorsAreReported() throws {
        let name = "model.norm.weight"
        let directory = try fixtureCopy(replacing: name, with: (name, [64]), adding: "model.rotary_emb.inv_freq")
        #expect(try LlamaModel(directory: directory).unusedTensors == ["model.rotary_emb.inv_freq"])
        #expect(try LlamaModel(directory: Fixtures.model("llama-gqa")).unusedTensors.isEmpty)
    }

    @Test func tokenOutsideTheVocabularyIsNamed() throws {
        let model = try LlamaModel(directory: Fixtures.model("llama-gqa"))
        #expect(throws: ModelError.tokenOutOfRange(sequence: 1, position: 2, id: 256, vocabSize: 256)) {
            try model.logits(TokenBatch(sequences: [[1, 2, 3], [4, 5, 256]]))
        }
    }
}
