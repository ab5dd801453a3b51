import Foundation
import JSON
import Models
import Testing

/// `init-model`'s library half: a random model directory that loads back, runs, and repeats from its seed.
@Suite struct RandomModelTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("t2g-init-\(UUID().uuidString)").path
    }

    @Test("a demo-tiny model: written, loaded back, finite logits, the same bytes from the same seed")
    func writeLoadForward() throws {
        let object = try RandomModel.configObject(
            base: try RandomModel.shapeObject("demo-tiny"), vocabularySize: 600, bosTokenId: 1, eosTokenId: 2,
            padTokenId: 0, keepLargerVocabulary: false)
        let (a, b, c) = (Self.temporaryDirectory(), Self.temporaryDirectory(), Self.temporaryDirectory())
        defer { for path in [a, b, c] { try? FileManager.default.removeItem(atPath: path) } }
        let config = try RandomModel.write(config: object, seed: 5, directory: a)
        try RandomModel.write(config: object, seed: 5, directory: b)
        try RandomModel.write(config: object, seed: 6, directory: c)
        #expect(config.vocabSize == 600 && config.layerCount == 4 && config.hiddenSize == 192)
        for name in ["config.json", "generation_config.json", "model.safetensors"] {
            let first = FileManager.default.contents(atPath: a + "/" + name)
            #expect(first != nil && first == FileManager.default.contents(atPath: b + "/" + name))
        }
        #expect(FileManager.default.contents(atPath: a + "/model.safetensors")
            != FileManager.default.contents(atPath: c + "/model.safetensors"))

        let model = try LlamaModel(directory: a)
        #expect(model.config == config && model.unusedTensors.isEmpty)
        #expect(model.config.bosTokenId == 1 && model.config.eosTokenIds == [2] && model.config.padTokenId == 0)
        let batch = TokenBatch(sequences: [[1, 5, 9, 300, 599], [1, 7]])
        let activations = LlamaActivations(config: config, batchSize: 2, length: batch.length)
        try model.forward(batch, activations: activations)
        let logits = try #require(activations.logits)
        #expect(logits.count == 2 * batch.length * config.vocabSize && logits.buffer.allSatisfy(\.isFinite))
        // Initialised like transformers: unit norms, matrices of standard deviation about 0.02.
        let weights = model.weights
        #expect((0..<config.hiddenSize).allSatisfy { weights.finalNorm[$0] == 1 })
        let n = config.vocabSize * config.hiddenSize
        let values = UnsafeBufferPointer(start: weights.embedTokens, count: n)
        let mean = values.reduce(0, +) / Float(n)
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(n)).squareRoot()
        #expect(abs(mean) < 1e-3 && abs(std - 0.02) < 1e-3)
        let data = try Data(contentsOf: URL(fileURLWithPath: a + "/config.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(json?["architectures"] as? [String] == ["LlamaForCausalLM"] && json?["hidden_act"] as? String == "silu")
    }

    @Test("parameter counts of the named shapes; a config with a smaller vocabulary than the tokenizer is an error")
    func shapesAndVocabulary() throws {
        func parameters(_ shape: String, vocabulary: Int) throws -> Int {
            let object = try RandomModel.configObject(
                base: try RandomModel.shapeObject(shape), vocabularySize: vocabulary, bosTokenId: nil, eosTokenId: nil,
                padTokenId: nil, keepLargerVocabulary: false)
            let config = try LlamaConfig(json: Data(object.serialized().utf8))
            return LlamaWeights.layout(config).reduce(0) { $0 + $1.shape.reduce(1, *) }
        }
        #expect(try parameters("demo-tiny", vocabulary: 1024) < 10_000_000)
        #expect(try parameters("demo-small", vocabulary: 1024) < 10_000_000)
        #expect(try parameters("smollm-135m", vocabulary: 49152) == 134_515_008)
        // transformers' counts for Qwen3-0.6B and Gemma 3 1B (tied embeddings, q/k norms, Gemma's four norms).
        #expect(try parameters("qwen3-0.6b", vocabulary: 151_936) == 596_049_920)
        #expect(try parameters("gemma3-1b", vocabulary: 262_144) == 999_885_952)
        var base = try RandomModel.shapeObject("demo-tiny")
        base["vocab_size"] = 100
        #expect(throws: ModelError.self) {
            try RandomModel.configObject(base: base, vocabularySize: 600, bosTokenId: nil, eosTokenId: nil,
                                         padTokenId: nil, keepLargerVocabulary: true)
        }
        base["vocab_size"] = 640
        let padded = try RandomModel.configObject(base: base, vocabularySize: 600, bosTokenId: nil, eosTokenId: nil,
                                                  padTokenId: nil, keepLargerVocabulary: true)
        #expect(padded["vocab_size"]?.intValue == 640)
        #expect(throws: ModelError.self) { try RandomModel.shapeObject("no-such-shape") }
    }
}
