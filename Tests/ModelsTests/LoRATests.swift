import Foundation
import SafeTensors
import Testing
@testable import Models

/// LoRA in PEFT's format both ways, switching adapters off, merging, and the value head.
@Suite struct LoRATests {
    static let base = "llama3-sharded"
    static let swiftAdapter = TrainingFixtures.root + "/swift-adapter"

    /// The adapter the Swift side writes for the round trip: rsLoRA off, r 3, four targets, random A and B.
    static func makeSwiftAdapter(_ config: LlamaConfig) -> LoRAAdapter {
        let adapter = LoRAAdapter(config: LoRAConfig(rank: 3, alpha: 5, targetModules: [.k, .o, .up, .down]), modelConfig: config)
        adapter.initialize(seed: 11)
        var rng = SplitMix64(seed: 12)
        for (name, tensor) in adapter.arena.tensors() where name.contains("lora_B") {
            for i in 0..<tensor.count { tensor[i] = rng.nextNormal() * 0.3 }
        }
        return adapter
    }

    static func logits(_ model: LlamaModel) throws -> [Float] {
        let (batch, _) = try TrainingFixtures.batch()
        return try model.logits(batch).array
    }

    static func maxRealTokenDifference(_ a: [Float], _ b: [Float], vocab V: Int) throws -> Float {
        let (batch, _) = try TrainingFixtures.batch()
        var worst: Float = 0
        for n in 0..<batch.ids.count where batch.mask[n] > 0 {
            for v in 0..<V { worst = max(worst, abs(a[n * V + v] - b[n * V + v])) }
        }
        return worst
    }

    /// What we write is byte-identical to the committed adapter that `peft` loaded, and our logits equal peft's.
    @Test func adapterWrittenHereLoadsInPEFT() throws {
        let model = try LlamaModel(directory: Fixtures.model(Self.base))
        let adapter = Self.makeSwiftAdapter(model.config)
        let temporary = NSTemporaryDirectory() + "swift-adapter-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        try adapter.save(directory: temporary, baseModel: Self.base)
        if ProcessInfo.processInfo.environment["T2G_WRITE_FIXTURES"] == "1" {
            try adapter.save(directory: Self.swiftAdapter, baseModel: Self.base)
            try Self.base.write(toFile: Self.swiftAdapter + "/base.txt", atomically: true, encoding: .utf8)
        }
        let written = try Data(contentsOf: URL(fileURLWithPath: temporary + "/" + LoRAAdapter.weightsFile))
        let committed = try Data(contentsOf: URL(fileURLWithPath: Self.swiftAdapter + "/" + LoRAAdapter.weightsFile))
        #expect(written == committed, "the committed swift-adapter is stale: rerun with T2G_WRITE_FIXTURES=1, then the generator")
        model.adapter = try LoRAAdapter.load(directory: temporary, config: model.config)
        let reference = try SafeTensorsFile(path: Self.swiftAdapter + "/expected.safetensors").floats("logits")
        let error = try Self.maxRealTokenDifference(try Self.logits(model), reference, vocab: model.config.vocabSize)
        print("swift-written adapter: max |Δlogit| vs peft = \(error)")
        #expect(error < 1e-4)
    }

    @Test func saveLoadRoundTripIsExact() throws {
        let model = try LlamaModel(directory: Fixtures.model(Self.base))
        let adapter = Self.makeSwiftAdapter(model.config)
        let directory = NSTemporaryDirectory() + "lora-roundtrip-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try adapter.save(directory: directory)
        let loaded = try LoRAAdapter.load(directory: directory, config: model.config)
        #expect(loaded.config == adapter.config)
        #expect(Array(UnsafeBufferPointer(start: loaded.arena.data, count: loaded.arena.count))
                == Array(UnsafeBufferPointer(start: adapter.arena.data, count: adapter.arena.count)))
    }

    @Test func disabledAdapterIsTheBaseModelAndMergeIsTheAdaptedModel() throws {
        let model = try LlamaModel(directory: Fixtures.model(Self.base))
        let baseLogits = try Self.logits(model)
        let adapter = try LoRAAdapter.load(directory: TrainingFixtures.root + "/lora-\(Self.base)", config: model.config)
        model.adapter = adapter
        let adapted = try Self.logits(model)
        #expect(try Self.maxRealTokenDifference(adapted, baseLogits, vocab: model.config.vocabSize) > 1e-2)
        adapter.enabled = false
        #expect(try Self.logits(model) == baseLogits)
        adapter.enabled = true
        model.weights.merge(adapter)
        model.adapter = nil
        let error = try Self.maxRealTokenDifference(try Self.logits(model), adapted, vocab: model.config.vocabSize)
        #expect(error < 1e-4, "merged vs adapted: \(error)")
    }

    @Test func badAdapterConfigsAreTypedErrors() throws {
        let config = try LlamaConfig(directory: Fixtures.model(Self.base))
        let directory = NSTemporaryDirectory() + "lora-bad-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.makeSwiftAdapter(config).save(directory: directory)
        let path = directory + "/" + LoRAAdapter.configFile
        let good = try String(contentsOfFile: path, encoding: .utf8)
        try good.replacingOccurrences(of: "\"k_proj\"", with: "\"lm_head\"").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.self) { try LoRAAdapter.load(directory: directory, config: config) }
        try good.replacingOccurrences(of: "\"r\" : 3", with: "\"r\" : 4").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.self) { try LoRAAdapter.load(directory: directory, config: config) }
    }

    @Test func valueHeadBackwardAndFile() throws {
        let C = 7, N = 5
        let head = ValueHead(hiddenSize: C)
        head.initialize(seed: 3, std: 1)
        head.bias[0] = 0.25
        var rng = SplitMix64(seed: 4)
        let hidden = (0..<N * C).map { _ in rng.nextNormal() }
        let dvalues = (0..<N).map { _ in rng.nextNormal() }
        var dhidden = [Float](repeating: 0, count: N * C)
        let gradients = ValueHead(hiddenSize: C)
        head.backward(dhidden: &dhidden, gradients: gradients, dvalues: dvalues, hidden: hidden, rows: N)
        // L = Σ dvalues · values is linear: its exact gradients are dvalues·w, Σ dvalues·hidden, Σ dvalues.
        for n in 0..<N { for c in 0..<C { #expect(abs(dhidden[n * C + c] - dvalues[n] * head.weight[c]) < 1e-5) } }
        for c in 0..<C {
            let expected = (0..<N).reduce(Float(0)) { $0 + dvalues[$1] * hidden[$1 * C + c] }
            #expect(abs(gradients.weight[c] - expected) < 1e-4)
        }
        #expect(abs(gradients.bias[0] - dvalues.reduce(0, +)) < 1e-5)
        var values = [Float](repeating: 0, count: N)
        head.forward(values: &values, hidden: hidden, rows: N)
        #expect(abs(values[0] - ((0..<C).reduce(Float(0)) { $0 + hidden[$1] * head.weight[$1] } + 0.25)) < 1e-5)
        let directory = NSTemporaryDirectory() + "vhead-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try head.save(directory: directory)
        let loaded = try ValueHead.load(directory: directory, hiddenSize: C)
        #expect(Array(UnsafeBufferPointer(start: loaded.arena.data, count: C + 1)) == Array(UnsafeBufferPointer(start: head.arena.data, count: C + 1)))
    }
}

/// LoRA dropout: the backward regenerates the forward's mask, so gradients with dropout on still match
/// finite differences of the loss (same seed in every evaluation).
@Suite struct LoRADropoutTests {
    @Test func dropoutGradientsMatchFiniteDifferences() throws {
        let model = try LlamaModel(directory: Fixtures.model(LoRATests.base))
        let config = LoRAConfig(rank: 3, alpha: 6, dropout: 0.3, targetModules: [.q, .v, .o, .gate, .down])
        let adapter = LoRAAdapter(config: config, modelConfig: model.config)
        adapter.initialize(seed: 21)
        var rng = SplitMix64(seed: 22)
        for (name, tensor) in adapter.arena.tensors() where name.contains("lora_B") {
            for i in 0..<tensor.count { tensor[i] = rng.nextNormal() * 0.3 }
        }
        adapter.dropoutSeed = 77
        model.adapter = adapter
        let gradients = LoRAAdapter(config: config, modelConfig: model.config)
        _ = try TrainingFixtures.lossAndBackward(model, gradients: nil, adapterGradients: gradients)
        let (batch, targets) = try TrainingFixtures.batch()
        let count = Float(targets.filter { $0 >= 0 }.count)
        func loss() throws -> Double {
            let a = LlamaActivations(config: model.config, batchSize: batch.batchSize, length: batch.length)
            try model.forward(batch, activations: a)
            return model.crossEntropyLossAndGradient(targets: targets, gradientScale: 0, activations: a).lossSum / Double(count)
        }
        let h: Float = 2e-2
        var checked = 0
        for (name, tensor) in adapter.arena.tensors() where name.contains("layers.0.") || name.contains("layers.1.mlp") {
            let gradient = gradients.arena.tensor(name)
            for i in stride(from: 0, to: tensor.count, by: max(1, tensor.count / 4)) {
                let saved = tensor[i]
                tensor[i] = saved + h
                let plus = try loss()
                tensor[i] = saved - h
                let minus = try loss()
                tensor[i] = saved
                let numeric = (plus - minus) / Double(2 * h)
                #expect(abs(numeric - Double(gradient[i])) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]: \(gradient[i]) vs \(numeric)")
                checked += 1
            }
        }
        #expect(checked > 30)
        // The mask really drops: another seed gives other logits.
        let first = try loss()
        adapter.dropoutSeed = 78
        #expect(try loss() != first)
    }
}
