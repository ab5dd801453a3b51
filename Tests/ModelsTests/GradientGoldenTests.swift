import Foundation
import SafeTensors
import Testing
@testable import Models

/// The training batch of scripts/make_training_fixtures.py: right-padded sequences, loss on positions from
/// `prompt[b] − 1` on (the next token as the target), −1 elsewhere.
enum TrainingFixtures {
    static let root = Fixtures.root.appendingPathComponent("training").path

    static func batch() throws -> (TokenBatch, [Int32]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/batch.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let sequences = (object["sequences"] as! [[NSNumber]]).map { $0.map(\.intValue) }
        let prompt = (object["prompt"] as! [NSNumber]).map(\.intValue)
        let batch = TokenBatch(sequences: sequences, padding: .right, padId: 0)
        var targets = [Int32](repeating: -1, count: batch.ids.count)
        for (b, s) in sequences.enumerated() {
            for t in (prompt[b] - 1)..<(s.count - 1) { targets[b * batch.length + t] = Int32(s[t + 1]) }
        }
        return (batch, targets)
    }

    /// Forward, masked mean cross-entropy and backward; returns the mean loss. With `targetRowsOnly`, the LM head
    /// computes the logits of the positions with a target only (as SFT and PPO run it).
    /// `buffers`, when given, must hold the batch (they are reshaped for it).
    static func lossAndBackward(
        _ model: LlamaModel, gradients: LlamaWeights?, adapterGradients: LoRAAdapter?, targetRowsOnly: Bool = false,
        buffers: (LlamaActivations, LlamaBackwardBuffers)? = nil
    ) throws -> (loss: Double, logits: [Float]) {
        let (batch, targets) = try batch()
        let a = buffers?.0 ?? LlamaActivations(config: model.config, batchSize: batch.batchSize, length: batch.length,
                                               storedLayers: model.config.layerCount)
        a.reshape(batchSize: batch.batchSize, length: batch.length)
        let logitRows = targetRowsOnly ? LlamaModel.logitRows(forTargets: targets) : nil
        #expect(!targetRowsOnly || logitRows != nil, "the fixture batch has positions without a target")
        try model.forward(batch, activations: a, logitRows: logitRows)
        let logits = a.logits!.array
        let count = targets.filter { $0 >= 0 }.count
        let (sum, tokens) = model.crossEntropyLossAndGradient(targets: targets, gradientScale: 1 / Float(count), activations: a)
        #expect(tokens == count)
        let d = buffers?.1 ?? LlamaBackwardBuffers(config: model.config, batchSize: batch.batchSize, length: batch.length)
        model.backward(batch, activations: a, gradients: gradients, adapterGradients: adapterGradients, buffers: d)
        return (sum / Double(tokens), logits)
    }

    /// max |a − b| / max |b| over one tensor.
    static func relativeError(_ a: UnsafePointer<Float>, _ b: [Float]) -> Float {
        var worst: Float = 0, scale: Float = 1e-12
        for i in 0..<b.count { worst = max(worst, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        return worst / scale
    }
}

/// Every parameter's gradient of the masked mean token cross-entropy against PyTorch (fp32, eager attention).
/// Tolerance: max |Δ| ≤ 1e-4 · max |grad| per tensor; the loss within 1e-5 relative.
@Suite struct GradientGoldenTests {
    static let tolerance: Float = 1e-4

    /// Both with every position's logits and with the LM head on the positions with a target only (its weight
    /// gradient, tied or not, and the softcap's backward over those rows).
    @Test(arguments: ["llama3-sharded", "qwen2-tied", "mistral-window", "qwen3-norms", "gemma3-local", "gemma3-softcap"],
          [false, true])
    func fullGradientsMatchPyTorch(model name: String, targetRowsOnly: Bool) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let expected = try SafeTensorsFile(path: TrainingFixtures.root + "/grads-\(name).safetensors")
        let gradients = LlamaWeights(config: model.config)
        let (loss, _) = try TrainingFixtures.lossAndBackward(model, gradients: gradients, adapterGradients: nil,
                                                             targetRowsOnly: targetRowsOnly)
        let reference = Double(try expected.floats("loss")[0])
        #expect(abs(loss - reference) / reference < 1e-5, "\(name): loss \(loss) vs \(reference)")
        var worst: Float = 0
        for (parameter, tensor) in gradients.arena.tensors() {
            let golden = try expected.floats("grad." + parameter)
            #expect(golden.count == tensor.count)
            let error = TrainingFixtures.relativeError(tensor.data, golden)
            worst = max(worst, error)
            #expect(error <= Self.tolerance, "\(name) \(parameter): relative error \(error)")
        }
        print("\(name): loss \(loss) vs \(reference), worst relative gradient error \(worst) over \(gradients.arena.layout.count) tensors")
    }

    /// Buffers last used by a longer batch of more sequences (every tensor dirty), reshaped for the fixture batch,
    /// give the gradients fresh buffers give, to the bit.
    @Test(arguments: ["qwen2-tied", "gemma3-softcap"])
    func buffersReusedFromALargerBatchGiveTheSameGradients(model name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let fresh = LlamaWeights(config: model.config)
        _ = try TrainingFixtures.lossAndBackward(model, gradients: fresh, adapterGradients: nil, targetRowsOnly: true)

        let (batch, _) = try TrainingFixtures.batch()
        let B = batch.batchSize + 1, T = batch.length + 7
        var cache: LlamaActivations?
        let a = LlamaActivations.fitting(&cache, config: model.config, batchSize: B, length: T,
                                         storedLayers: model.config.layerCount)
        let d = LlamaBackwardBuffers(config: model.config, batchSize: B, length: T)
        var rng = SplitMix64(seed: 7)
        let longer = TokenBatch(sequences: (0..<B).map { b in
            (0..<(T - b)).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }
        }, padding: .right, padId: 0)
        let scratch = LlamaWeights(config: model.config)
        try model.forward(longer, activations: a)
        _ = model.crossEntropyLossAndGradient(targets: [Int32](repeating: 1, count: B * T), gradientScale: 1,
                                              activations: a)
        model.backward(longer, activations: a, gradients: scratch, adapterGradients: nil, buffers: d)
        #expect(LlamaActivations.fitting(&cache, config: model.config, batchSize: batch.batchSize,
                                         length: batch.length, storedLayers: model.config.layerCount) === a)
        let reused = LlamaWeights(config: model.config)
        _ = try TrainingFixtures.lossAndBackward(model, gradients: reused, adapterGradients: nil, targetRowsOnly: true,
                                                 buffers: (a, d))
        for ((parameter, x), (_, y)) in zip(fresh.arena.tensors(), reused.arena.tensors()) {
            #expect(x.array == y.array, "\(name) \(parameter)")
        }
    }

    /// Logits on the positions with a target are those rows of the full logits, found by `logitRow(ofPosition:)`.
    @Test(arguments: ["qwen2-tied", "gemma3-softcap"])
    func logitsOnTargetRowsAreThoseRows(model name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let (batch, targets) = try TrainingFixtures.batch()
        let full = LlamaActivations(config: model.config, batchSize: batch.batchSize, length: batch.length)
        try model.forward(batch, activations: full)
        let rows = try #require(LlamaModel.logitRows(forTargets: targets))
        let some = LlamaActivations(config: model.config, batchSize: batch.batchSize, length: batch.length)
        try model.forward(batch, activations: some, logitRows: rows)
        let V = model.config.vocabSize
        var worst: Float = 0, scale: Float = 0
        for n in 0..<targets.count {
            guard let row = some.logitRow(ofPosition: n) else {
                #expect(targets[n] < 0)
                continue
            }
            #expect(rows[row] == n)
            for v in 0..<V {
                worst = max(worst, abs(some.logits!.data[row * V + v] - full.logits!.data[n * V + v]))
                scale = max(scale, abs(full.logits!.data[n * V + v]))
            }
        }
        #expect(worst <= 1e-6 * scale, "\(name): max |Δlogit| \(worst) of \(scale)")
        try model.forward(batch, activations: some)
        #expect(some.logitRows == nil && some.logitRow(ofPosition: targets.count - 1) == targets.count - 1)
    }

    /// A fixture model with its `peft` adapter on, PyTorch's expected figures, and zeroed adapter gradients.
    static func loraFixture(_ name: String) throws -> (LlamaModel, SafeTensorsFile, LoRAAdapter) {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let directory = TrainingFixtures.root + "/lora-\(name)"
        let adapter = try LoRAAdapter.load(directory: directory, config: model.config)
        model.adapter = adapter
        let expected = try SafeTensorsFile(path: directory + "/expected.safetensors")
        return (model, expected, LoRAAdapter(config: adapter.config, modelConfig: model.config))
    }

    /// An adapter written by `peft`: same logits and loss, LoRA-only gradients equal to PyTorch's, and no base gradient.
    @Test(arguments: ["llama3-sharded", "qwen2-tied", "qwen3-norms", "gemma3-local"])
    func loraGradientsMatchPyTorch(model name: String) throws {
        let (model, expected, gradients) = try Self.loraFixture(name)
        let (loss, logits) = try TrainingFixtures.lossAndBackward(model, gradients: nil, adapterGradients: gradients)
        let reference = Double(try expected.floats("loss")[0])
        #expect(abs(loss - reference) / reference < 1e-5, "\(name): loss \(loss) vs \(reference)")
        let goldenLogits = try expected.floats("logits")
        // Logits at padding positions are not meaningful: compare real tokens only.
        let (batch, _) = try TrainingFixtures.batch()
        let V = model.config.vocabSize
        var logitError: Float = 0
        for n in 0..<batch.ids.count where batch.mask[n] > 0 {
            for v in 0..<V { logitError = max(logitError, abs(logits[n * V + v] - goldenLogits[n * V + v])) }
        }
        #expect(logitError < 1e-4, "\(name): max |Δlogit| \(logitError)")
        var worst: Float = 0
        for (parameter, tensor) in gradients.arena.tensors() {
            let error = TrainingFixtures.relativeError(tensor.data, try expected.floats("grad." + parameter))
            worst = max(worst, error)
            #expect(error <= GradientGoldenTests.tolerance, "\(name) \(parameter): relative error \(error)")
        }
        #expect(gradients.arena.layout.count == expected.tensors.count - 2)
        print("lora \(name): max |Δlogit| \(logitError), worst relative LoRA gradient error \(worst)")
    }

    /// The same adapters with the frozen base's products in bf16 (operands rounded to bf16, fp32 sums): the loss within
    /// 1e-3 relative of PyTorch's fp32 one and the LoRA gradient pointing the same way (cosine ≥ 0.99 over all of it;
    /// per tensor, max |Δ| ≤ 0.25 · max |grad|: on these random models bf16 rounding alone moves them 3–20%, and the
    /// fp32 emulation of the same rounding gives the same figures).
    @Test(arguments: ["llama3-sharded", "qwen2-tied", "qwen3-norms", "gemma3-local"])
    func loraGradientsWithBF16ProductsStayCloseToPyTorch(model name: String) throws {
        let (model, expected, gradients) = try Self.loraFixture(name)
        model.productPrecision = .bf16
        let (loss, _) = try TrainingFixtures.lossAndBackward(model, gradients: nil, adapterGradients: gradients)
        let reference = Double(try expected.floats("loss")[0])
        #expect(abs(loss - reference) / reference < 1e-3, "\(name): loss \(loss) vs \(reference)")
        var worst: Float = 0, dot = 0.0, norm = 0.0, goldenNorm = 0.0
        for (parameter, tensor) in gradients.arena.tensors() {
            let golden = try expected.floats("grad." + parameter)
            let error = TrainingFixtures.relativeError(tensor.data, golden)
            worst = max(worst, error)
            #expect(error <= 0.25, "\(name) \(parameter): relative error \(error)")
            for i in 0..<golden.count {
                dot += Double(tensor.data[i]) * Double(golden[i])
                norm += Double(tensor.data[i]) * Double(tensor.data[i])
                goldenNorm += Double(golden[i]) * Double(golden[i])
            }
        }
        let cosine = dot / (norm * goldenNorm).squareRoot()
        #expect(cosine >= 0.99, "\(name): cosine \(cosine)")
        print("lora bf16 \(name): loss \(loss) vs \(reference), cosine \(cosine), worst relative error \(worst)")
    }
}
