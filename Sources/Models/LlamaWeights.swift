import SafeTensors
import Tensor

/// The parameters of a Llama-family model in one arena, named as in the Hugging Face checkpoint.
// Unchecked Sendable: raw tensors, written by the optimizer between passes.
public final class LlamaWeights: @unchecked Sendable {
    public let config: LlamaConfig
    public let arena: TensorArena

    /// Pointers into the arena for one decoder layer.
    public struct Layer {
        public let inputNorm: UnsafeMutablePointer<Float>          // (C) input_layernorm
        /// q_proj, k_proj, v_proj stacked: (NH·HS + 2·KVH·HS, C), one matrix product for all three.
        public let qkv: UnsafeMutablePointer<Float>
        public let qkvBias: UnsafeMutablePointer<Float>?           // (NH·HS + 2·KVH·HS)
        public let qNorm: UnsafeMutablePointer<Float>?             // (HS) self_attn.q_norm (Qwen3, Gemma 3)
        public let kNorm: UnsafeMutablePointer<Float>?             // (HS) self_attn.k_norm
        public let o: UnsafeMutablePointer<Float>                  // (C, NH·HS)
        public let oBias: UnsafeMutablePointer<Float>?             // (C)
        /// (C) Gemma's post_attention_layernorm, on the attention output before the residual add.
        public let attentionOutputNorm: UnsafeMutablePointer<Float>?
        /// (C) the MLP's input norm: post_attention_layernorm in Llama's naming, Gemma's pre_feedforward_layernorm.
        public let mlpNorm: UnsafeMutablePointer<Float>
        /// gate_proj, up_proj stacked: (2·I, C).
        public let gateUp: UnsafeMutablePointer<Float>
        public let gateUpBias: UnsafeMutablePointer<Float>?        // (2·I)
        public let down: UnsafeMutablePointer<Float>               // (C, I)
        public let downBias: UnsafeMutablePointer<Float>?          // (C)
        /// (C) Gemma's post_feedforward_layernorm, on the MLP output before the residual add.
        public let mlpOutputNorm: UnsafeMutablePointer<Float>?
    }

    public let layers: [Layer]
    public let embedTokens: UnsafeMutablePointer<Float>  // (V, C)
    public let finalNorm: UnsafeMutablePointer<Float>    // (C)
    public let lmHead: UnsafeMutablePointer<Float>       // (V, C): embedTokens when tied

    /// The (checkpoint name, shape) table of every parameter, in a fixed order. q/k/v and gate/up follow one
    /// another so that each group is one (rows stacked) matrix, as are their biases.
    public static func layout(_ c: LlamaConfig) -> [(name: String, shape: [Int])] {
        let C = c.hiddenSize, I = c.intermediateSize
        let Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize
        var table: [(name: String, shape: [Int])] = [("model.embed_tokens.weight", [c.vocabSize, C])]
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            table.append((p + "input_layernorm.weight", [C]))
            table.append((p + "self_attn.q_proj.weight", [Q, C]))
            table.append((p + "self_attn.k_proj.weight", [KV, C]))
            table.append((p + "self_attn.v_proj.weight", [KV, C]))
            if c.qkvBias {
                table.append((p + "self_attn.q_proj.bias", [Q]))
                table.append((p + "self_attn.k_proj.bias", [KV]))
                table.append((p + "self_attn.v_proj.bias", [KV]))
            }
            if c.qkNorm {
                table.append((p + "self_attn.q_norm.weight", [c.headSize]))
                table.append((p + "self_attn.k_norm.weight", [c.headSize]))
            }
            table.append((p + "self_attn.o_proj.weight", [C, Q]))
            if c.outputBias { table.append((p + "self_attn.o_proj.bias", [C])) }
            table.append((p + "post_attention_layernorm.weight", [C]))
            if c.sandwichNorms { table.append((p + "pre_feedforward_layernorm.weight", [C])) }
            table.append((p + "mlp.gate_proj.weight", [I, C]))
            table.append((p + "mlp.up_proj.weight", [I, C]))
            if c.mlpBias {
                table.append((p + "mlp.gate_proj.bias", [I]))
                table.append((p + "mlp.up_proj.bias", [I]))
            }
            table.append((p + "mlp.down_proj.weight", [C, I]))
            if c.mlpBias { table.append((p + "mlp.down_proj.bias", [C])) }
            if c.sandwichNorms { table.append((p + "post_feedforward_layernorm.weight", [C])) }
        }
        table.append(("model.norm.weight", [C]))
        if !c.tieWordEmbeddings { table.append(("lm_head.weight", [c.vocabSize, C])) }
        return table
    }

    /// Zero-filled parameters for `config` (fill them by loading, or by `randomize`).
    public init(config: LlamaConfig) {
        self.config = config
        let arena = TensorArena(layout: Self.layout(config))
        self.arena = arena
        func p(_ name: String) -> UnsafeMutablePointer<Float> { arena.tensor(name).data }
        func optional(_ name: String) -> UnsafeMutablePointer<Float>? { arena.contains(name) ? p(name) : nil }
        let sandwich = config.sandwichNorms
        layers = (0..<config.layerCount).map { l in
            let n = "model.layers.\(l)."
            let postAttention = p(n + "post_attention_layernorm.weight")
            return Layer(
                inputNorm: p(n + "input_layernorm.weight"),
                qkv: p(n + "self_attn.q_proj.weight"), qkvBias: optional(n + "self_attn.q_proj.bias"),
                qNorm: optional(n + "self_attn.q_norm.weight"), kNorm: optional(n + "self_attn.k_norm.weight"),
                o: p(n + "self_attn.o_proj.weight"), oBias: optional(n + "self_attn.o_proj.bias"),
                attentionOutputNorm: sandwich ? postAttention : nil,
                mlpNorm: sandwich ? p(n + "pre_feedforward_layernorm.weight") : postAttention,
                gateUp: p(n + "mlp.gate_proj.weight"), gateUpBias: optional(n + "mlp.gate_proj.bias"),
                down: p(n + "mlp.down_proj.weight"), downBias: optional(n + "mlp.down_proj.bias"),
                mlpOutputNorm: optional(n + "post_feedforward_layernorm.weight"))
        }
        embedTokens = p("model.embed_tokens.weight")
        finalNorm = p("model.norm.weight")
        lmHead = config.tieWordEmbeddings ? embedTokens : p("lm_head.weight")
    }

    /// Loads every parameter from a checkpoint by its name, checking shapes.
    /// Returns the checkpoint's tensors the model does not use (e.g. stale `rotary_emb.inv_freq`).
    @discardableResult
    public func load(from checkpoint: SafeTensorsCheckpoint) throws -> [String] {
        try arena.fill(from: checkpoint, location: checkpoint.directory)
        let used = Set(arena.layout.map(\.name))
        return checkpoint.names.filter { !used.contains($0) && !($0 == "lm_head.weight" && config.tieWordEmbeddings) }
    }

    /// Fills the parameters as transformers initialises a fresh model: normal(0, std) matrices, unit norms (stored
    /// as 0 where the weight is an offset from 1, as in Gemma), zero biases.
    public func randomize(seed: UInt64, std: Float = 0.02) {
        var rng = SplitMix64(seed: seed)
        for (name, tensor) in arena.tensors() {
            if name.hasSuffix("norm.weight") {
                tensor.buffer.update(repeating: 1 - config.normWeightOffset)
            } else if name.hasSuffix(".bias") {
                tensor.zero()
            } else {
                for i in 0..<tensor.count { tensor[i] = rng.nextNormal() * std }
            }
        }
    }

    public var parameterCount: Int { arena.count }
}
