import Foundation
import Models
import SafeTensors
import Testing
@testable import PolicyOptimization

/// One PPO mini-batch against PyTorch following TRL's formulas (scripts/make_ppo_fixtures.py): per-token
/// log-probabilities at a temperature, entropies, values, the reference's log-probabilities, KL, rewards, GAE,
/// whitened advantages, returns, the clipped policy and value losses, and every LoRA and value-head gradient.
@Suite struct PPOReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    @Test func oneMiniBatchMatchesPyTorch() throws {
        let fixture = Self.root.appendingPathComponent("ppo").path
        let rollout = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: fixture + "/rollout.json"))) as! [String: Any]
        let queries = (rollout["queries"] as! [[NSNumber]]).map { $0.map(\.intValue) }
        let responses = (rollout["responses"] as! [[NSNumber]]).map { $0.map(\.intValue) }
        func number(_ key: String) -> Double { (rollout[key] as! NSNumber).doubleValue }
        let T = Float(number("temperature"))
        let expected = try SafeTensorsFile(path: fixture + "/expected.safetensors")
        func golden(_ name: String) throws -> [Float] { try expected.floats(name) }

        let model = try LlamaModel(directory: Self.root.appendingPathComponent("models/qwen2-tied").path)
        model.adapter = try LoRAAdapter.load(directory: Self.root.appendingPathComponent("training/lora-qwen2-tied").path,
                                             config: model.config)
        let head = try ValueHead.load(directory: fixture, hiddenSize: model.config.hiddenSize)
        let s = SequenceBatch(prompts: queries, responses: responses, padId: 0)
        let L = responses.map(\.count).max()!
        let mask = try golden("mask")
        func close(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String) {
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(a.count == b.count && worst <= tolerance, "\(what): max |Δ| \(worst)")
        }

        // The policy and the reference (adapter off) at temperature T.
        let a = LlamaActivations(config: model.config, batchSize: s.batch.batchSize, length: s.batch.length,
                                 storedLayers: model.config.layerCount)
        let out = try model.policyForward(s.batch, targets: s.targets, temperature: T, valueHead: head, activations: a)
        let logp = s.gather(out.logProbabilities, length: L), values = s.gather(out.values, length: L)
        let entropy = s.gather(out.entropies, length: L)
        close(logp, try golden("logp"), 2e-5, "log-probabilities")
        close(entropy, try golden("entropy"), 2e-5, "entropies")
        close(values, try golden("values"), 2e-5, "values")
        model.adapter!.enabled = false
        let r = LlamaActivations(config: model.config, batchSize: s.batch.batchSize, length: s.batch.length)
        let ref = s.gather(try model.policyForward(s.batch, targets: s.targets, temperature: T, activations: r).logProbabilities,
                           length: L)
        model.adapter!.enabled = true
        close(ref, try golden("ref_logp"), 2e-5, "reference log-probabilities")

        // Rewards and advantages from the rollout's old figures.
        let old = try golden("old_logp"), oldValues = try golden("old_values"), scores = try golden("scores")
        let kl = zip(klPenalty(logProbabilities: old, reference: ref, estimator: .k1), mask).map { $0 * $1 }
        close(kl, try golden("kl"), 2e-5, "KL")
        let beta = Float(number("kl_coef"))
        let rewards = (0..<kl.count).map { mask[$0] > 0 ? scores[$0] - beta * kl[$0] : 0 }
        close(rewards, try golden("rewards"), 2e-6, "rewards")
        let (raw, returns) = generalizedAdvantages(rewards: rewards, values: oldValues, mask: mask, length: L,
                                                   gamma: number("gamma"), lambda: number("lam"))
        close(returns, try golden("returns"), 2e-5, "returns")
        let advantages = zip(maskedWhiten(raw, mask), mask).map { $0 * $1 }
        close(advantages, try golden("advantages"), 2e-5, "advantages")

        // The mini-batch loss and its gradient.
        let policy = ClippedPolicyLoss(logProbabilities: logp, old: old, advantages: advantages, mask: mask,
                                       clip: number("cliprange"))
        let value = ClippedValueLoss(values: values, oldValues: oldValues, returns: returns, mask: mask,
                                     clip: number("cliprange_value"))
        let vfCoef = number("vf_coef"), entropyCoef = number("entropy_coef")
        let meanEntropy = maskedMean(entropy, mask)
        let loss = policy.loss + vfCoef * value.loss - entropyCoef * meanEntropy
        #expect(abs(policy.loss - Double(try golden("pg_loss")[0])) < 2e-6)
        #expect(abs(value.loss - Double(try golden("vf_loss")[0])) < 2e-5)
        #expect(abs(loss - Double(try golden("loss")[0])) < 2e-5)
        #expect(abs(policy.clipFraction - Double(try golden("pg_clipfrac")[0])) < 1e-6)
        #expect(abs(value.clipFraction - Double(try golden("vf_clipfrac")[0])) < 1e-6)

        let adapterGradients = LoRAAdapter(config: model.adapter!.config, modelConfig: model.config)
        let headGradients = ValueHead(hiddenSize: model.config.hiddenSize)
        let n = Float(mask.reduce(0, +))
        model.policyBackward(
            s.batch, targets: s.targets, temperature: T, logProbabilityGradients: s.scatter(policy.gradient, length: L),
            entropyGradients: s.scatter(mask.map { -Float(entropyCoef) * $0 / n }, length: L),
            valueGradients: s.scatter(value.gradient.map { $0 * Float(vfCoef) }, length: L), valueHead: head,
            valueHeadGradients: headGradients, activations: a, gradients: nil, adapterGradients: adapterGradients,
            buffers: LlamaBackwardBuffers(config: model.config, batchSize: s.batch.batchSize, length: s.batch.length))
        var worst: Float = 0, checked = 0
        for (name, tensor) in adapterGradients.arena.tensors() + headGradients.arena.tensors() {
            let reference = try golden("grad." + name)
            let scale = max(reference.map(abs).max() ?? 0, 1e-6)
            let error = (0..<tensor.count).map { abs(tensor.data[$0] - reference[$0]) }.max()! / scale
            worst = max(worst, error)
            checked += 1
            #expect(error < 1e-4, "\(name): relative error \(error)")
        }
        #expect(checked == 14)
        print("ppo: \(checked) gradients, worst relative error \(worst); loss \(loss)")
    }
}
