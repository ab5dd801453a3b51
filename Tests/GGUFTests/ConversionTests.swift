import Foundation
import GGUF
import GGUFConversion
import Models
import SafeTensors
import Testing
import Tokenizers

/// GGUF → Hugging Face directory → our forward pass, against llama.cpp's logits on the same GGUF files
/// (llama-cpp-python, F32 KV cache). Tolerances, absolute on logits of magnitude ~1–10: F32 weights 1e-4
/// (measured 2.3e-6); F16 1e-2 (measured 2.9e-3) and Q8_0 0.1 (measured 0.067), because llama.cpp rounds the
/// activations it multiplies by those weights to F16 / Q8_0 blocks, while we multiply in fp32.
@Suite struct ConversionTests {
    static let tolerances: [String: Float] = ["f32": 1e-4, "f16": 1e-2, "q8_0": 0.1]

    static func sequences() throws -> [[Int]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: GGUFFixtures.path("inputs.json")))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return try #require(object?["sequences"] as? [[Int]])
    }

    /// The largest |ours − llama.cpp| over every logit of every fixture sequence.
    static func logitError(directory: String, kind: String) throws -> Float {
        let model = try LlamaModel(directory: directory)
        let expected = try GGUFFile(path: GGUFFixtures.path("logits.gguf"))
        var worst: Float = 0
        for (i, sequence) in try sequences().enumerated() {
            let logits = try model.logits(TokenBatch(sequences: [sequence]))
            let reference = try expected.floats("\(kind).\(i)")
            #expect(reference.count == sequence.count * model.config.vocabSize)
            for j in reference.indices { worst = max(worst, abs(logits.data[j] - reference[j])) }
        }
        return worst
    }

    @Test(arguments: ["f32", "f16", "q8_0"])
    func logitsMatchLlamaCpp(_ kind: String) throws {
        let scratch = try ScratchDirectory()
        let summary = try GGUFImport.convert(gguf: GGUFFixtures.path("tiny-\(kind).gguf"), to: scratch.path)
        #expect(summary.config.tieWordEmbeddings == (kind == "f32"))
        #expect(summary.config.headCount == 2 && summary.config.kvHeadCount == 1 && summary.config.vocabSize == 900)
        let error = try Self.logitError(directory: scratch.path, kind: kind)
        print("tiny-\(kind).gguf: max |Δlogit| vs llama.cpp = \(error)")
        #expect(error <= Self.tolerances[kind] ?? 0, "\(kind): max |Δlogit| = \(error)")
    }

    @Test func bf16DirectoryStaysClose() throws {
        let scratch = try ScratchDirectory()
        try GGUFImport.convert(gguf: GGUFFixtures.path("tiny-f32.gguf"), to: scratch.path, dtype: .bf16)
        let checkpoint = try SafeTensorsCheckpoint(directory: scratch.path)
        #expect(checkpoint.info("model.embed_tokens.weight")?.dtype == .bf16)
        let error = try Self.logitError(directory: scratch.path, kind: "f32")
        #expect(error < 0.1, "bf16 weights: max |Δlogit| = \(error)")
    }

    /// The converted directory carries the tokenizer, the chat template and the special ids.
    @Test func directoryHasTokenizerAndTemplate() throws {
        let scratch = try ScratchDirectory()
        try GGUFImport.convert(gguf: GGUFFixtures.path("tiny-q8_0.gguf"), to: scratch.path)
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: scratch.path))
        #expect(tokenizer.vocabSize == 900)
        #expect(tokenizer.chatTemplate?.contains("<|im_start|>") == true)
        #expect(tokenizer.eosTokenIds.contains(2))
        let prompt = try tokenizer.applyChatTemplate(
            messages: [.init(role: "user", content: "hi")], addGenerationPrompt: true)
        #expect(prompt.hasSuffix("<|im_start|>assistant\n"))
        let config = try LlamaConfig(directory: scratch.path)
        #expect(config.eosTokenIds == [2] && config.bosTokenId == 1)
    }

    /// HF → GGUF → HF gives back the same weights (F32 exactly, Q8_0 within its rounding) and the same tokenizer.
    @Test(arguments: ["F32", "Q8_0"])
    func exportRoundTrip(_ typeName: String) throws {
        let scratch = try ScratchDirectory()
        let original = scratch.path + "/original", back = scratch.path + "/back", gguf = scratch.path + "/model.gguf"
        try GGUFImport.convert(gguf: GGUFFixtures.path("tiny-f32.gguf"), to: original)
        let type = try #require(GGMLType(name: typeName))
        try GGUFExport.convert(directory: original, to: gguf, type: type)
        let exported = try GGUFFile(path: gguf)
        // The exported q/k rows are llama.cpp's: identical to the fixture's for F32.
        if type == .f32 {
            let fixture = try GGUFFile(path: GGUFFixtures.path("tiny-f32.gguf"))
            #expect(try exported.floats("blk.1.attn_q.weight") == fixture.floats("blk.1.attn_q.weight"))
            #expect(try exported.floats("blk.0.attn_k.weight") == fixture.floats("blk.0.attn_k.weight"))
            #expect(try exported.string("tokenizer.ggml.pre") == "smollm")
            #expect(exported["tokenizer.ggml.merges"] == fixture["tokenizer.ggml.merges"])
            #expect(exported["tokenizer.ggml.tokens"] == fixture["tokenizer.ggml.tokens"])
            #expect(exported["tokenizer.chat_template"] == fixture["tokenizer.chat_template"])
        }
        try GGUFImport.convert(gguf: gguf, to: back)
        let a = try SafeTensorsCheckpoint(directory: original), b = try SafeTensorsCheckpoint(directory: back)
        #expect(Set(a.names) == Set(b.names))
        for name in a.names {
            let x = try a.floats(name), y = try b.floats(name)
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            let matrix = name.hasSuffix("proj.weight") || name.hasSuffix("tokens.weight")
            let bound: Float = type == .q8_0 && matrix ? 0.01 : 0
            #expect(worst <= bound, "\(name): \(worst)")
        }
    }

    @Test func refusesUnsupportedModelsNamingTheField() throws {
        let scratch = try ScratchDirectory()
        func rewrite(_ change: (inout [(String, GGUFValue)]) -> Void) throws -> String {
            let source = try GGUFFile(path: GGUFFixtures.path("vocab-qwen2.gguf"))
            var metadata = source.metadata.map { ($0.key, $0.value) }
            change(&metadata)
            var writer = GGUFWriter()
            for (key, value) in metadata { writer.add(key, value) }
            let path = scratch.path + "/\(UUID().uuidString).gguf"
            try writer.write(to: path)
            return path
        }
        func set(_ key: String, _ value: GGUFValue) -> (inout [(String, GGUFValue)]) -> Void {
            { metadata in
                metadata.removeAll { $0.0 == key }
                metadata.append((key, value))
            }
        }
        let cases: [(String, (inout [(String, GGUFValue)]) -> Void)] = [
            ("general.architecture", set("general.architecture", .string("gemma3"))),
            ("tokenizer.ggml.pre", set("tokenizer.ggml.pre", .string("deepseek-llm"))),
            ("tokenizer.ggml.model", set("tokenizer.ggml.model", .string("bert"))),
            ("tokenizer.ggml.token_type", set("tokenizer.ggml.token_type", .array(.int32([1, 2])))),
            ("tokenizer.ggml.eos_token_id", set("tokenizer.ggml.eos_token_id", .uint32(5000))),
        ]
        for (field, change) in cases {
            let path = try rewrite(change)
            do {
                try GGUFImport.convert(gguf: path, to: scratch.path + "/out")
                Issue.record("\(field): converted")
            } catch let error as GGUFError {
                #expect(error.description.contains(field) && error.description.contains(path), "\(error)")
            }
        }
        // Without tensors the metadata converts but the weights are missing: named.
        let vocabOnly = GGUFFixtures.path("vocab-qwen2.gguf")
        #expect(throws: GGUFError.missingTensor(path: vocabOnly, tensor: "token_embd.weight")) {
            try GGUFImport.convert(gguf: GGUFFixtures.path("vocab-qwen2.gguf"), to: scratch.path + "/out")
        }
    }
}

/// GGUF files given as models: converted once into the cache, reused while the file is unchanged.
@Suite struct ModelCacheTests {
    @Test func convertsOnceAndReuses() throws {
        let scratch = try ScratchDirectory()
        let gguf = scratch.path + "/tiny.gguf"
        try FileManager.default.copyItem(atPath: GGUFFixtures.path("tiny-q8_0.gguf"), toPath: gguf)
        var messages: [String] = []
        let root = scratch.path + "/cache"
        let first = try GGUFModelCache.directory(for: gguf, root: root) { messages.append($0) }
        #expect(first.hasPrefix(root + "/tiny-") && messages.count == 2)
        #expect(try LlamaConfig(directory: first).vocabSize == 900)
        let again = try GGUFModelCache.directory(for: gguf, root: root) { messages.append($0) }
        #expect(again == first && messages.count == 2)
        let entries = try FileManager.default.contentsOfDirectory(atPath: root)
        #expect(entries == [URL(fileURLWithPath: first).lastPathComponent])
        // Directories and other files pass through untouched.
        #expect(try GGUFModelCache.directory(for: first, root: root) == first)
        #expect(try GGUFModelCache.directory(for: first + "/config.json", root: root) == first + "/config.json")
        #expect(!GGUFModelCache.isGGUF(scratch.path + "/absent.gguf"))
    }

    @Test func failedConversionLeavesNothing() throws {
        let scratch = try ScratchDirectory()
        let bad = scratch.path + "/bad.gguf"
        try Data("GGUF\u{3}\0\0\0".utf8).write(to: URL(fileURLWithPath: bad))
        let root = scratch.path + "/cache"
        #expect(throws: GGUFError.self) { try GGUFModelCache.directory(for: bad, root: root) }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] == [])
    }
}
