import Common
import Tensor

/// The matrices a decode step multiplies by: q/k/v, o, gate/up and down of every layer and the LM head, either
/// pointing at the fp32 parameters or held as bf16 copies (one allocation, ~half the fp32 size).
///
/// The copies are made once; after the parameters change (full fine-tuning between rollouts), `refresh` narrows
/// them again. Norms, biases and embeddings stay fp32 (they are a few KB per token).
// Unchecked Sendable: raw matrices, rebuilt only between decode steps.
public final class DecodeMatrices: @unchecked Sendable {
    public struct Layer {
        public let qkv: DecodeWeight
        public let o: DecodeWeight
        public let gateUp: DecodeWeight
        public let down: DecodeWeight
    }

    public let precision: DecodePrecision
    public let layers: [Layer]
    public let lmHead: DecodeWeight
    private let weights: LlamaWeights
    private let copies: BF16Buffer?
    /// (fp32 source, offset in `copies`, count) of every matrix, for `refresh`.
    private let placement: [(source: UnsafeMutablePointer<Float>, offset: Int, count: Int)]

    /// `precision` must be resolved (`.fp32` or `.bf16`).
    public init(weights: LlamaWeights, precision: DecodePrecision) {
        precondition(precision != .auto, "resolve .auto before building decode matrices")
        self.precision = precision
        self.weights = weights
        let c = weights.config
        let C = c.hiddenSize, I = c.intermediateSize
        let Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize
        var sources: [(UnsafeMutablePointer<Float>, Int)] = []
        for w in weights.layers {
            sources += [(w.qkv, (Q + 2 * KV) * C), (w.o, C * Q), (w.gateUp, 2 * I * C), (w.down, C * I)]
        }
        sources.append((weights.lmHead, c.vocabSize * C))
        var placement: [(source: UnsafeMutablePointer<Float>, offset: Int, count: Int)] = []
        var total = 0
        for (source, count) in sources {
            placement.append((source, total, count))
            total += count
        }
        self.placement = placement
        let copies = precision == .bf16 ? BF16Buffer(count: total) : nil
        self.copies = copies
        func matrix(_ i: Int) -> DecodeWeight {
            guard let copies else { return .f32(placement[i].source) }
            return .bf16(copies.data + placement[i].offset)
        }
        layers = (0..<c.layerCount).map { l in
            Layer(qkv: matrix(4 * l), o: matrix(4 * l + 1), gateUp: matrix(4 * l + 2), down: matrix(4 * l + 3))
        }
        lmHead = matrix(placement.count - 1)
        refresh()
    }

    /// Narrows the fp32 parameters into the bf16 copies again (nothing to do for fp32).
    public func refresh() {
        guard let copies else { return }
        for entry in placement { copies.store(entry.source, count: entry.count, at: entry.offset) }
    }

    /// Bytes a decode step reads for the matrices.
    public var bytes: Int { placement.reduce(0) { $0 + $1.count } * (precision == .bf16 ? 2 : 4) }
}
