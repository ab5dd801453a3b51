import Foundation
import JSON
import Models
import SafeTensors
import Testing

/// Hostile config.json, adapter_config.json and token ids: each is an error naming the field, before anything
/// is allocated, and never a coerced value, a crash or a hang.
@Suite struct ConfigValidationTests {
    static let base = """
        "model_type": "mistral", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10
        """

    /// The error message of parsing the base config with `extra` members appended (nil when it parses).
    func failure(_ extra: String, replacing: String? = nil) -> String? {
        var body = Self.base
        if let replacing { body = body.replacingOccurrences(of: replacing, with: "") }
        let json = "{" + body + (extra.isEmpty ? "" : ", " + extra) + "}"
        do {
            _ = try LlamaConfig(json: Data(json.utf8), path: "c.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func wrongJSONTypesAreErrorsNamingTheField() throws {
        let cases: [(String, String, String)] = [
            ("\"num_hidden_layers\": 900.5", "\"num_hidden_layers\": 1,", "'num_hidden_layers'"),
            ("\"num_hidden_layers\": true", "\"num_hidden_layers\": 1,", "'num_hidden_layers'"),
            ("\"rms_norm_eps\": \"1e-5\"", "", "'rms_norm_eps'"),
            ("\"eos_token_id\": [\"2\"]", "", "'eos_token_id"),
            ("\"tie_word_embeddings\": 1", "", "'tie_word_embeddings'"),
            ("\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": \"2\"}", "", "'rope_scaling.factor'"),
        ]
        for (extra, removed, field) in cases {
            let message = try #require(failure(extra, replacing: removed.isEmpty ? nil : removed), "\(extra) parsed")
            #expect(message.contains(field), "\(extra): \(message)")
        }
        // Before: 900.5 became 900 layers, true 1 layer, "1e-5" the default eps, ["2"] no EOS.
        #expect(failure("\"eos_token_id\": [2, 3]") == nil)
        #expect(failure("\"sliding_window\": null, \"head_dim\": null, \"pad_token_id\": null") == nil)
    }

    @Test func valuesThatCorruptMemoryOrMakeNaNAreRefused() throws {
        let cases: [(String, String)] = [
            ("\"sliding_window\": 0", "'sliding_window'"), ("\"sliding_window\": -4", "'sliding_window'"),
            ("\"rms_norm_eps\": 0", "'rms_norm_eps'"), ("\"rms_norm_eps\": -1e-5", "'rms_norm_eps'"),
            ("\"rope_theta\": 0", "'rope_theta'"), ("\"head_dim\": 0", "'head_dim'"), ("\"head_dim\": 5", "'head_dim'"),
            ("\"head_dim\": 100000", "'head_dim'"),
            ("\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0}", "'rope_scaling.factor'"),
            ("\"rope_parameters\": {\"rope_type\": \"dynamic\", \"factor\": -2}", "'rope_parameters.factor'"),
            ("\"rope_parameters\": {\"rope_theta\": 0}", "'rope_parameters.rope_theta'"),
            ("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, "
                + "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}", "high_freq_factor"),
            ("\"eos_token_id\": 10", "'eos_token_id'"), ("\"bos_token_id\": -1", "'bos_token_id'"),
            ("\"max_position_embeddings\": 0", "'max_position_embeddings'"),
        ]
        for (extra, field) in cases {
            let message = try #require(failure(extra), "\(extra) parsed")
            #expect(message.contains(field), "\(extra): \(message)")
        }
        let huge: [(String, String)] = [
            ("\"vocab_size\": 1000000000000", ", \"vocab_size\": 10"), ("\"hidden_size\": 4000000000", "\"hidden_size\": 8,"),
            ("\"intermediate_size\": 9000000000", "\"intermediate_size\": 16,"),
            ("\"num_hidden_layers\": 100000000", "\"num_hidden_layers\": 1,"),
        ]
        for (extra, removed) in huge {
            let message = try #require(failure(extra, replacing: removed), "\(extra) parsed")
            let field = String(extra.split(separator: "\"")[0])
            #expect(message.contains("'\(field)'") && message.contains("beyond"), "\(message)")
        }
    }

    @Test func duplicateKeysAndBadUTF8AreRefused() {
        #expect(failure("\"hidden_size\": 16")?.contains("duplicate key") == true)
        var bytes = Array("{\(Self.base), \"x\": \"".utf8)
        bytes += [0xC3, 0x28] + Array("\"}".utf8)
        #expect(throws: ModelError.self) { try LlamaConfig(json: Data(bytes), path: "c.json") }
    }

    /// A fixture model directory with `config.json` edited by `edit`.
    static func fixture(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let target = NSTemporaryDirectory() + "config-validation-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let source = Fixtures.model("llama-gqa")
        try FileManager.default.copyItem(atPath: source + "/model.safetensors", toPath: target + "/model.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: source + "/config.json"))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: target + "/config.json"))
        return target
    }

    /// Sizes within `LlamaConfig.sizeLimits` whose weights could never be allocated (140 GB to 800 TB, against
    /// a fixture file of 400 KB): the shapes are checked against the file's header first, so the mismatch (or
    /// missing tensor) comes back at once. Before, such sizes reached the allocator and aborted the process.
    @Test func sizesBeyondTheCheckpointFailOnTheHeaderBeforeAllocating() throws {
        let wide = 1 << 16  // hidden_size at its limit
        let cases: [[String: Int]] = [
            ["hidden_size": wide, "vocab_size": 1 << 24],  // embeddings alone: 2^40 floats, 4 TB
            ["hidden_size": wide, "intermediate_size": 1 << 20],  // 768 GB of MLP per layer
            ["hidden_size": wide, "num_hidden_layers": 1 << 10],  // 140 MB per layer, 1024 layers
            ["hidden_size": wide, "intermediate_size": 1 << 20, "num_hidden_layers": 1 << 10, "vocab_size": 1 << 24],
        ]
        for edits in cases {
            let directory = try Self.fixture { for (field, value) in edits { $0[field] = value } }
            defer { try? FileManager.default.removeItem(atPath: directory) }
            _ = try LlamaConfig(directory: directory)  // the sizes themselves are accepted
            let started = Date()
            do {
                _ = try LlamaModel(directory: directory)
                Issue.record("\(edits) loaded")
            } catch let error as ModelError {
                switch error {
                case .shapeMismatch, .missingTensor: break
                default: Issue.record("\(edits): \(error)")
                }
            }
            let seconds = Date().timeIntervalSince(started)
            #expect(seconds < 1, "\(edits): \(seconds) s, as if the weights were allocated")
        }
    }

    @Test func aFIFOIsRefusedNotWaitedOn() throws {
        let directory = try Self.fixture { _ in }
        try FileManager.default.removeItem(atPath: directory + "/model.safetensors")
        #expect(mkfifo(directory + "/model.safetensors", 0o600) == 0)
        #expect(throws: SafeTensorsError.cannotOpen(path: directory + "/model.safetensors", reason: "not a regular file")) {
            try LlamaModel(directory: directory)
        }
        try FileManager.default.removeItem(atPath: directory + "/config.json")
        #expect(mkfifo(directory + "/config.json", 0o600) == 0)
        #expect(throws: ModelError.badConfig(path: directory + "/config.json", reason: "not a regular file")) {
            try LlamaConfig(directory: directory)
        }
    }

    @Test func tokenIdsAreIntegersInTheVocabulary() throws {
        #expect(TokenBatch.ids(fromJSON: [4_294_967_301]) == [4_294_967_301])
        #expect(TokenBatch.ids(fromJSON: [2.5]) == nil)
        #expect(TokenBatch.ids(fromJSON: try JSONValue.parse("[1, true]")) == nil)
        #expect(TokenBatch.ids(fromJSON: ["3"]) == nil)
        #expect(TokenBatch.ids(fromJSON: try JSONValue.parse("[1, 2.0, 255]")) == [1, 2, 255])
        let model = try LlamaModel(directory: Fixtures.model("llama-gqa"))
        // Before: 4294967301 was truncated to 5 and scored as token 5.
        #expect(throws: ModelError.tokenOutOfRange(sequence: 0, position: 1, id: 4_294_967_301, vocabSize: 256)) {
            try model.score([[1, 4_294_967_301, 3]])
        }
        #expect(throws: ModelError.self) { try model.logits(TokenBatch(sequences: [[1, 4_294_967_301]])) }
    }

    @Test func adapterConfigIsStrictAndCheckedAgainstItsFile() throws {
        let model = try LlamaConfig(directory: Fixtures.model("llama3-sharded"))
        let source = TrainingFixtures.root + "/lora-llama3-sharded"
        func adapter(_ edit: (inout [String: Any]) -> Void) throws -> String {
            let target = NSTemporaryDirectory() + "adapter-validation-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: source + "/adapter_model.safetensors", toPath: target + "/adapter_model.safetensors")
            let data = try Data(contentsOf: URL(fileURLWithPath: source + "/adapter_config.json"))
            var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: target + "/adapter_config.json"))
            return target
        }
        _ = try LoRAAdapter.load(directory: try adapter { _ in }, config: model)
        let cases: [((inout [String: Any]) -> Void, String)] = [
            ({ $0["r"] = 8.5 }, "'r'"), ({ $0["r"] = true }, "'r'"), ({ $0["lora_alpha"] = "16" }, "'lora_alpha'"),
            ({ $0["r"] = 1_000_000_000 }, "'r'"), ({ $0["lora_dropout"] = 1.5 }, "'lora_dropout'"),
            ({ $0["target_modules"] = [1] }, "'target_modules"),
        ]
        for (edit, field) in cases {
            do {
                _ = try LoRAAdapter.load(directory: try adapter(edit), config: model)
                Issue.record("\(field) was accepted")
            } catch {
                #expect("\(error)".contains(field), "\(error)")
            }
        }
        // A rank the file does not hold fails on its header, before the adapter is allocated.
        do {
            _ = try LoRAAdapter.load(directory: try adapter { $0["r"] = 16000 }, config: model)
            Issue.record("r = 16000 was accepted")
        } catch let error as ModelError {
            guard case .shapeMismatch = error else { Issue.record("\(error)"); return }
        }
    }
}
