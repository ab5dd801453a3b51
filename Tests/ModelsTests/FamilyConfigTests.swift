import Foundation
import JSON
import Models
import SafeTensors
import Testing

/// Qwen3 and Gemma 3 (text) configs: transformers' defaults, both Gemma config forms, and an error naming the field
/// for everything the engine does not run.
@Suite struct FamilyConfigTests {
    static var qwen3: [String: Any] { [
        "model_type": "qwen3", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10,
    ] }
    static var gemma3: [String: Any] { [
        "model_type": "gemma3_text", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 7,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10, "head_dim": 4,
    ] }

    func config(_ base: [String: Any], _ changes: [String: Any] = [:]) throws -> LlamaConfig {
        let json = base.merging(changes) { $1 }
        return try LlamaConfig(json: try JSONSerialization.data(withJSONObject: json), path: "c.json")
    }

    /// The error message of a config that must fail.
    func failure(_ base: [String: Any], _ changes: [String: Any]) -> String {
        do {
            _ = try config(base, changes)
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    @Test func qwen3Defaults() throws {
        let c = try config(Self.qwen3)
        #expect(c.headSize == 128, "transformers' Qwen3 head_dim, not hidden/heads")
        #expect(c.qkNorm && !c.qkvBias && !c.outputBias && !c.tieWordEmbeddings && !c.sandwichNorms)
        #expect(c.activation == .silu && c.normWeightOffset == 0 && c.embeddingScale == 1 && c.finalLogitSoftcap == nil)
        #expect(c.layerWindows == [nil, nil] && c.localRotary == nil && c.maxPositionEmbeddings == 32_768)
        let biased = try config(Self.qwen3, ["attention_bias": true, "head_dim": 4])
        #expect(biased.qkvBias && biased.outputBias && biased.headSize == 4)
        #expect(biased.attentionScale == 1 / Float(4).squareRoot())
        let names = LlamaWeights.layout(biased).map(\.name)
        for name in ["self_attn.q_norm.weight", "self_attn.k_norm.weight", "self_attn.o_proj.bias", "self_attn.q_proj.bias"] {
            #expect(names.contains("model.layers.1." + name), "\(name)")
        }
    }

    @Test func gemma3Defaults() throws {
        let c = try config(Self.gemma3)
        #expect(c.activation == .geluTanh && c.qkNorm && c.sandwichNorms && c.normWeightOffset == 1)
        #expect(c.tieWordEmbeddings && !c.qkvBias && !c.outputBias)
        #expect(c.embeddingScale == Float(8.0.squareRoot()))
        #expect(c.attentionScale == 0.0625, "query_pre_attn_scalar 256")
        // sliding_window_pattern 6: every sixth layer global; windows of 4096.
        #expect(c.layerWindows == [4096, 4096, 4096, 4096, 4096, nil, 4096])
        #expect(c.ropeTheta == 1_000_000 && c.localRopeTheta == 10_000 && c.ropeScaling == .none)
        #expect(c.usesLocalRotary(layer: 0) && !c.usesLocalRotary(layer: 5))
        let names = Set(LlamaWeights.layout(c).map(\.name))
        for name in ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
                     "self_attn.q_norm", "self_attn.k_norm"] {
            #expect(names.contains("model.layers.6.\(name).weight"), "\(name)")
        }
        #expect(!names.contains("lm_head.weight"))
    }

    /// Google's published form and transformers 5's describe the same model.
    @Test func bothGemma3ConfigFormsAreRead() throws {
        let published = try config(Self.gemma3, [
            "rope_theta": 500_000, "rope_local_base_freq": 20_000, "rope_scaling": ["rope_type": "linear", "factor": 8],
            "sliding_window_pattern": 3, "sliding_window": 5, "query_pre_attn_scalar": 9,
        ])
        let types = (0..<7).map { ($0 + 1) % 3 == 0 ? "full_attention" : "sliding_attention" }
        let modern = try config(Self.gemma3, [
            "rope_parameters": [
                "full_attention": ["rope_type": "linear", "factor": 8, "rope_theta": 500_000],
                "sliding_attention": ["rope_type": "default", "rope_theta": 20_000],
            ],
            "layer_types": types, "sliding_window": 5, "query_pre_attn_scalar": 9,
        ])
        #expect(published == modern)
        #expect(published.layerWindows == [5, 5, nil, 5, 5, nil, 5])
        #expect(published.ropeScaling == .linear(factor: 8) && published.localRopeTheta == 20_000)
        #expect(published.attentionScale == Float(pow(9.0, -0.5)))
        // transformers 5 saves the pattern as _sliding_window_pattern when it made layer_types itself.
        let saved = try config(Self.gemma3, ["_sliding_window_pattern": 3, "sliding_window": 5])
        #expect(saved.layerWindows == published.layerWindows)
        let capped = try config(Self.gemma3, ["final_logit_softcapping": 30, "attn_logit_softcapping": NSNull()])
        #expect(capped.finalLogitSoftcap == 30)
    }

    @Test func whatIsNotRunIsRefusedNamingTheField() {
        let cases: [([String: Any], [String: Any], String)] = [
            (Self.gemma3, ["hidden_activation": "gelu"], "hidden_activation"),
            (Self.gemma3, ["attn_logit_softcapping": 50], "attn_logit_softcapping"),
            (Self.gemma3, ["use_bidirectional_attention": true], "use_bidirectional_attention"),
            (Self.gemma3, ["layer_types": ["full_attention"]], "'layer_types'"),
            (Self.gemma3, ["layer_types": Array(repeating: "chunked_attention", count: 7)], "layer_types = chunked_attention"),
            (Self.gemma3, ["layer_types": "full_attention"], "'layer_types'"),
            (Self.gemma3, ["rope_parameters": ["rope_type": "default", "rope_theta": 10_000]], "'rope_parameters'"),
            (Self.gemma3, ["rope_parameters": ["sliding_attention": ["rope_type": "linear", "factor": 2]]],
             "rope_parameters.sliding_attention.rope_type"),
            (Self.gemma3, ["rope_parameters": ["full_attention": ["rope_type": "yarn", "factor": 2]]],
             "rope_parameters.full_attention.rope_type"),
            (Self.gemma3, ["rope_parameters": ["global_attention": ["rope_type": "default"]]], "rope_parameters = global_attention"),
            (Self.gemma3, ["rope_local_base_freq": 0.5], "'rope_local_base_freq'"),
            (Self.gemma3, ["query_pre_attn_scalar": 0], "'query_pre_attn_scalar'"),
            (Self.gemma3, ["query_pre_attn_scalar": "256"], "'query_pre_attn_scalar'"),
            (Self.gemma3, ["final_logit_softcapping": -1], "'final_logit_softcapping'"),
            (Self.gemma3, ["sliding_window_pattern": 0], "'sliding_window_pattern'"),
            (Self.gemma3, ["sliding_window": 0], "'sliding_window'"),
            (Self.qwen3, ["use_sliding_window": true], "use_sliding_window"),
            (Self.qwen3, ["hidden_act": "gelu"], "hidden_act"),
            (Self.qwen3, ["rope_parameters": ["full_attention": ["rope_type": "default"]]], "'rope_parameters'"),
            (Self.qwen3, ["head_dim": 5], "'head_dim'"),
        ]
        for (base, changes, field) in cases {
            let message = failure(base, changes)
            #expect(message.contains(field), "\(changes): \(message)")
        }
    }

    /// `init-model` writes both families: they load back, run, and start as transformers would (Gemma's norms,
    /// stored as offsets, at 0).
    @Test(arguments: ["qwen3", "gemma3_text"])
    func randomModelsLoadAndRun(modelType: String) throws {
        let base = modelType == "qwen3" ? Self.qwen3 : Self.gemma3
        let baseText = try JSONSerialization.data(withJSONObject: base.merging(["head_dim": 4]) { $1 })
        let object = try RandomModel.configObject(
            base: try JSONValue.parse([UInt8](baseText)), vocabularySize: 10, bosTokenId: 1, eosTokenId: 2,
            padTokenId: 0, keepLargerVocabulary: false)
        let directory = RandomModelTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try RandomModel.write(config: object, seed: 3, directory: directory)
        let model = try LlamaModel(directory: directory)
        #expect(model.config == config && model.unusedTensors.isEmpty)
        let logits = try model.logits(TokenBatch(sequences: [[1, 5, 9, 3], [1, 7]]))
        #expect(logits.buffer.allSatisfy { $0.isFinite })
        let norm: Float = config.modelType == "gemma3_text" ? 0 : 1
        #expect((0..<config.headSize).allSatisfy { model.weights.layers[0].qNorm![$0] == norm })
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
        let written = try #require(json as? [String: Any])
        if config.modelType == "gemma3_text" {
            #expect(written["architectures"] as? [String] == ["Gemma3ForCausalLM"])
            #expect(written["hidden_activation"] as? String == "gelu_pytorch_tanh" && written["hidden_act"] == nil)
            #expect((written["layer_types"] as? [String])?.count == 7 && written["query_pre_attn_scalar"] as? Int == 256)
        } else {
            #expect(written["architectures"] as? [String] == ["Qwen3ForCausalLM"] && written["hidden_act"] as? String == "silu")
        }
    }

    /// Full fine-tuning saves the weights under their checkpoint names: Gemma's four norms and the q/k norms
    /// come back exactly.
    @Test func gemmaWeightsSaveAndLoadBack() throws {
        let name = "gemma3-softcap"
        let model = try LlamaModel(directory: Fixtures.model(name))
        let directory = RandomModelTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.weights.save(directory: directory)
        try FileManager.default.copyItem(atPath: Fixtures.model(name) + "/config.json", toPath: directory + "/config.json")
        let loaded = try LlamaModel(directory: directory)
        #expect(loaded.unusedTensors.isEmpty)
        #expect(Array(UnsafeBufferPointer(start: loaded.weights.arena.data, count: loaded.weights.arena.count))
            == Array(UnsafeBufferPointer(start: model.weights.arena.data, count: model.weights.arena.count)))
    }
}
