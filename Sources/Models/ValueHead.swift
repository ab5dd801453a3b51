import Foundation
import SafeTensors
import Tensor

/// A scalar value per position from the final normed hidden state: values (N) = hidden (N, C) · wᵀ + b,
/// as TRL's `ValueHead` (`v_head.summary`), saved as `value_head.safetensors`.
// Unchecked Sendable: raw tensors, updated by the training loop between passes.
public final class ValueHead: @unchecked Sendable {
    public static let fileName = "value_head.safetensors"
    public let hiddenSize: Int
    /// `v_head.summary.weight` (1, C) then `v_head.summary.bias` (1): gradients share this table.
    public let arena: TensorArena
    public var weight: UnsafeMutablePointer<Float> { arena.data }
    public var bias: UnsafeMutablePointer<Float> { arena.data + hiddenSize }

    /// Zero weights (call `initialize` for a random start).
    public init(hiddenSize C: Int) {
        hiddenSize = C
        arena = TensorArena(layout: [("v_head.summary.weight", [1, C]), ("v_head.summary.bias", [1])])
    }

    /// normal(0, std) weight and zero bias.
    public func initialize(seed: UInt64, std: Float = 0.02) {
        var rng = SplitMix64(seed: seed)
        for i in 0..<hiddenSize { weight[i] = rng.nextNormal() * std }
        bias[0] = 0
    }

    /// values (N) = hidden (N, C) · wᵀ + b.
    public func forward(values: UnsafeMutablePointer<Float>, hidden: UnsafePointer<Float>, rows N: Int) {
        matmulForward(out: values, input: hidden, weight: weight, bias: bias, rows: N, inChannels: hiddenSize, outChannels: 1)
    }

    /// The backward of `forward`, accumulating: dhidden += dvalues·w, and into `gradients` dw += dvaluesᵀ·hidden, db += Σ dvalues.
    public func backward(
        dhidden: UnsafeMutablePointer<Float>, gradients: ValueHead?, dvalues: UnsafePointer<Float>, hidden: UnsafePointer<Float>, rows N: Int
    ) {
        matmulBackward(dinput: dhidden, dweight: gradients?.weight, dbias: gradients?.bias, dout: dvalues, input: hidden, weight: weight,
                       rows: N, inChannels: hiddenSize, outChannels: 1)
    }

    /// Writes `value_head.safetensors` into `directory`.
    public func save(directory: String) throws {
        let entries = arena.tensors().map { SafeTensorsWriter.Entry(name: $0.name, shape: $0.tensor.shape, values: UnsafeBufferPointer($0.tensor.buffer)) }
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], to: directory + "/" + Self.fileName)
    }

    /// Reads `value_head.safetensors` from `directory`, checking names and shapes.
    public static func load(directory: String, hiddenSize: Int) throws -> ValueHead {
        let head = ValueHead(hiddenSize: hiddenSize)
        let file = try SafeTensorsFile(path: directory + "/" + fileName)
        try head.arena.fill(from: file, location: directory)
        return head
    }
}
