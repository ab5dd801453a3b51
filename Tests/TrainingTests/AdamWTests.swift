import Foundation
import SafeTensors
import Tensor
import Testing
@testable import Training

enum TrainingTestFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static func model(_ name: String) -> String { root.appendingPathComponent("models/\(name)").path }
    static let training = root.appendingPathComponent("training").path
}

/// AdamW, clipping and schedules against PyTorch (scripts/make_training_fixtures.py → adamw.safetensors).
@Suite struct AdamWTests {
    /// Six steps of torch.optim.AdamW(lr 1e-2, betas (0.9, 0.95), eps 1e-8, weight_decay 0.1), each after
    /// clip_grad_norm_(max_norm 1), gradients alternating small (no clipping) and large (clipped).
    /// Tolerance: 1e-6 absolute on parameters of size ~1.
    @Test func matchesTorchAdamWWithClipping() throws {
        let file = try SafeTensorsFile(path: TrainingTestFixtures.training + "/adamw.safetensors")
        let layout: [(name: String, shape: [Int])] = [("a", [3, 5]), ("b", [7]), ("c", [2, 2, 3])]
        let parameters = TensorArena(layout: layout), gradients = TensorArena(layout: layout)
        for (name, tensor) in parameters.tensors() { try file.read("initial." + name, into: tensor.data, count: tensor.count) }
        let optimizer = AdamW(config: AdamWConfig(beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1), layout: layout)
        var worst: Float = 0
        for step in 0..<6 {
            for (name, tensor) in gradients.tensors() { try file.read("grad.\(step).\(name)", into: tensor.data, count: tensor.count) }
            let torchNorm = Double(try file.floats("norm.\(step)")[0])
            // torch clips in a separate pass; the factor folded into the update gives its numbers.
            let norm = globalGradientNorm([gradients])
            #expect(abs(norm - torchNorm) / torchNorm < 1e-6, "step \(step): norm \(norm) vs \(torchNorm)")
            optimizer.update(parameters: parameters, gradients: gradients, learningRate: 1e-2,
                             gradientScale: clipFactor(norm: norm, maxNorm: 1))
            for (name, tensor) in parameters.tensors() {
                let expected = try file.floats("after.\(step).\(name)")
                for i in 0..<tensor.count { worst = max(worst, abs(tensor[i] - expected[i])) }
            }
        }
        print("AdamW vs torch over 6 steps: max |Δparameter| = \(worst)")
        #expect(worst < 1e-6)
    }

    /// Constant, linear and cosine with 10 warmup steps of 50, against transformers' lr lambdas (steps 0…54).
    @Test(arguments: LearningRateSchedule.Kind.allCases)
    func scheduleMatchesTransformers(kind: LearningRateSchedule.Kind) throws {
        let expected = try SafeTensorsFile(path: TrainingTestFixtures.training + "/adamw.safetensors").floats("schedule.\(kind.rawValue)")
        let schedule = LearningRateSchedule(kind: kind, peak: 1, warmupSteps: 10, totalSteps: 50)
        for step in 0..<expected.count {
            #expect(abs(schedule.factor(step: step) - Double(expected[step])) < 1e-6, "\(kind) step \(step)")
        }
    }

    @Test func decayMaskSkipsChosenParameters() {
        let layout: [(name: String, shape: [Int])] = [("w", [2, 2]), ("norm", [2])]
        let parameters = TensorArena(layout: layout), gradients = TensorArena(layout: layout)
        parameters.data.update(repeating: 1, count: parameters.count)
        let optimizer = AdamW(config: AdamWConfig(weightDecay: 0.5), layout: layout) { _, shape in shape.count >= 2 }
        optimizer.update(parameters: parameters, gradients: gradients, learningRate: 0.1)
        // Zero gradients: only decay moves parameters, and only the matrix's.
        #expect(parameters.tensor("w").array == [0.95, 0.95, 0.95, 0.95])
        #expect(parameters.tensor("norm").array == [1, 1])
    }
}
