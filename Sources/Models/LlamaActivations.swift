import Tensor

/// Activation buffers for batches of up to (B, T), in one arena: one allocation carved into named tensors.
///
/// With `storedLayers == layerCount` every layer keeps its own buffers for the backward pass; with 1, all
/// layers share one set, which is all a forward-only pass needs. A batch of fewer or shorter sequences uses a
/// prefix of every tensor (`reshape`, `fitting`), so a loop over batches of varying sizes allocates once: new
/// memory costs a page fault and a zeroing on its first touch, a twentieth of a small model's PPO update.
// Unchecked Sendable: raw buffers of one pass at a time; its kernels write disjoint slices.
public final class LlamaActivations: @unchecked Sendable {
    /// The batch the buffers are shaped for now: at most `capacity`.
    public private(set) var batchSize: Int
    public private(set) var length: Int
    /// The largest batch the buffers hold: sequences, and tokens in each.
    public let capacity: (batchSize: Int, length: Int)
    public let storedLayers: Int
    public let arena: TensorArena
    /// (B·T, V), present when the forward computes logits. Row n is position n, or, when the forward was given
    /// `logitRows`, row i is position `logitRows[i]` and the rows after the last are unused.
    public let logits: Tensor?
    /// The positions whose logits the last `forward` computed, increasing; nil when it computed every position.
    /// The LM head is a fifth of a small model's products, so a pass that needs the logits of a few positions
    /// (a response after its prompt) computes only those, forward and backward.
    public internal(set) var logitRows: [Int]?
    /// (B·T, C) the final normed hidden states of `logitRows`, gathered: the LM head's input (with `logits`).
    let logitInputs: UnsafeMutablePointer<Float>?
    /// (B·T, V) a copy of the softcapped logits for the backward (with `finalLogitSoftcap` and all logits only):
    /// the loss overwrites `logits` with its gradient in place.
    let cappedLogits: Tensor?

    public struct Layer {
        public let input: UnsafeMutablePointer<Float>     // (B, T, C) residual stream entering the layer
        public let ln1: UnsafeMutablePointer<Float>       // (B, T, C)
        public let rstd1: UnsafeMutablePointer<Float>     // (B, T)
        /// (B, T, NH·HS + 2·KVH·HS): per token q (NH, HS) and k (KVH, HS) after rotary, then v (KVH, HS).
        public let qkv: UnsafeMutablePointer<Float>
        public let probs: UnsafeMutablePointer<Float>     // (B, NH, T, T)
        public let attention: UnsafeMutablePointer<Float> // (B, T, NH, HS)
        public let middle: UnsafeMutablePointer<Float>    // (B, T, C) residual stream after attention
        public let ln2: UnsafeMutablePointer<Float>       // (B, T, C)
        public let rstd2: UnsafeMutablePointer<Float>     // (B, T)
        public let gateUp: UnsafeMutablePointer<Float>    // (B, T, 2·I): gate then up per token
        public let hidden: UnsafeMutablePointer<Float>    // (B, T, I) act(gate)·up
        // With q_norm / k_norm (Qwen3, Gemma 3):
        public let qkPreNorm: UnsafeMutablePointer<Float>?  // (B, T, NH·HS + KVH·HS) q and k before their norms
        public let qkRstd: UnsafeMutablePointer<Float>?     // (B·T·NH) for q, then (B·T·KVH) for k
        // With Gemma's sandwich norms, the outputs they normalise:
        public let attentionProjection: UnsafeMutablePointer<Float>?  // (B, T, C) o_proj output
        public let rstd3: UnsafeMutablePointer<Float>?                // (B, T)
        public let mlpProjection: UnsafeMutablePointer<Float>?        // (B, T, C) down_proj output
        public let rstd4: UnsafeMutablePointer<Float>?                // (B, T)
    }

    public let layers: [Layer]
    /// (B, T, C) o_proj / down_proj output before the residual add; with sandwich norms, their normed output.
    public let projection: UnsafeMutablePointer<Float>
    public let final: UnsafeMutablePointer<Float>        // (B, T, C) residual stream after the last layer
    public let finalNormed: UnsafeMutablePointer<Float>  // (B, T, C)
    public let finalRstd: UnsafeMutablePointer<Float>    // (B, T)

    public init(config c: LlamaConfig, batchSize B: Int, length T: Int, storedLayers: Int = 1, allLogits: Bool = true) {
        precondition(storedLayers == 1 || storedLayers == c.layerCount, "store one layer or all of them")
        self.batchSize = B
        self.length = T
        capacity = (B, T)
        self.storedLayers = storedLayers
        let N = B * T, C = c.hiddenSize, I = c.intermediateSize
        let Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize
        var table: [(name: String, shape: [Int])] = []
        for s in 0..<storedLayers {
            let p = "layers.\(s)."
            table += [
                (p + "input", [N, C]), (p + "ln1", [N, C]), (p + "rstd1", [N]), (p + "qkv", [N, Q + 2 * KV]), (p + "probs", [B, c.headCount, T, T]), (p + "attention", [N, Q]),
                (p + "middle", [N, C]), (p + "ln2", [N, C]), (p + "rstd2", [N]), (p + "gateUp", [N, 2 * I]),
                (p + "hidden", [N, I]),
            ]
            if c.qkNorm { table += [(p + "qkPreNorm", [N, Q + KV]), (p + "qkRstd", [N * (c.headCount + c.kvHeadCount)])] }
            if c.sandwichNorms {
                table += [(p + "attentionProjection", [N, C]), (p + "rstd3", [N]), (p + "mlpProjection", [N, C]), (p + "rstd4", [N])]
            }
        }
        table += [("projection", [N, C]), ("final", [N, C]), ("finalNormed", [N, C]), ("finalRstd", [N])]
        if allLogits { table.append(("logitInputs", [N, C])) }
        let arena = TensorArena(layout: table)
        self.arena = arena
        func p(_ name: String) -> UnsafeMutablePointer<Float> { arena.tensor(name).data }
        func optional(_ name: String) -> UnsafeMutablePointer<Float>? { arena.contains(name) ? p(name) : nil }
        layers = (0..<storedLayers).map { s in
            let n = "layers.\(s)."
            return Layer(
                input: p(n + "input"), ln1: p(n + "ln1"), rstd1: p(n + "rstd1"), qkv: p(n + "qkv"), probs: p(n + "probs"), attention: p(n + "attention"), middle: p(n + "middle"),
                ln2: p(n + "ln2"), rstd2: p(n + "rstd2"), gateUp: p(n + "gateUp"), hidden: p(n + "hidden"),
                qkPreNorm: optional(n + "qkPreNorm"), qkRstd: optional(n + "qkRstd"),
                attentionProjection: optional(n + "attentionProjection"), rstd3: optional(n + "rstd3"),
                mlpProjection: optional(n + "mlpProjection"), rstd4: optional(n + "rstd4"))
        }
        projection = p("projection")
        final = p("final")
        finalNormed = p("finalNormed")
        finalRstd = p("finalRstd")
        logitInputs = optional("logitInputs")
        logits = allLogits ? Tensor(shape: [N, c.vocabSize]) : nil
        let training = storedLayers == c.layerCount
        cappedLogits = allLogits && training && c.finalLogitSoftcap != nil ? Tensor(shape: [N, c.vocabSize]) : nil
    }

    /// Whether a batch of `B` sequences of `T` tokens fits.
    public func fits(batchSize B: Int, length T: Int) -> Bool { B <= capacity.batchSize && T <= capacity.length }

    /// Shapes the buffers for a batch of `B` sequences of `T` tokens, which must fit.
    public func reshape(batchSize B: Int, length T: Int) {
        precondition(fits(batchSize: B, length: T), "(\(B), \(T)) does not fit activations for \(capacity)")
        batchSize = B
        length = T
        logitRows = nil
    }

    /// Activations shaped for (B, T): the cached ones when they fit, else new ones (with `storedLayers`) large
    /// enough for both, which replace them in `cache` (the old are released first). Buffers grow to a run's
    /// largest batch and then stop allocating.
    public static func fitting(
        _ cache: inout LlamaActivations?, config: LlamaConfig, batchSize B: Int, length T: Int, storedLayers: Int = 1
    ) -> LlamaActivations {
        if let cached = cache, cached.storedLayers == storedLayers, cached.fits(batchSize: B, length: T) {
            cached.reshape(batchSize: B, length: T)
            return cached
        }
        let held = cache?.capacity ?? (batchSize: 0, length: 0)
        cache = nil
        let fresh = LlamaActivations(config: config, batchSize: max(B, held.batchSize), length: max(T, held.length),
                                     storedLayers: storedLayers)
        fresh.reshape(batchSize: B, length: T)
        cache = fresh
        return fresh
    }

    /// The row of `logits` that holds position `n`'s logits (nil when the last forward did not compute them).
    public func logitRow(ofPosition n: Int) -> Int? {
        guard let rows = logitRows else { return n }
        var low = 0, high = rows.count
        while low < high {
            let mid = (low + high) / 2
            if rows[mid] < n { low = mid + 1 } else { high = mid }
        }
        return low < rows.count && rows[low] == n ? low : nil
    }

    /// Per row of `logits`, its position's entry of a (B·T) array.
    func perLogitRow<Value>(_ values: [Value]) -> [Value] {
        logitRows.map { $0.map { values[$0] } } ?? values
    }

    /// Per row of `logits`, its position's entry of a (B·T) array of targets; every target ≥ 0 must have a row.
    func targets(of targets: [Int32]) -> [Int32] {
        let picked = perLogitRow(targets)
        precondition(picked.lazy.filter { $0 >= 0 }.count == targets.lazy.filter { $0 >= 0 }.count,
                     "a target at a position without logits")
        return picked
    }

    /// The buffers layer `l` uses.
    public func layer(_ l: Int) -> Layer { layers[l % storedLayers] }

    /// Where layer `l` writes its output: the next layer's input, or `final` after the last.
    public func output(ofLayer l: Int, layerCount: Int) -> UnsafeMutablePointer<Float> {
        l + 1 == layerCount ? final : layer(l + 1).input
    }
}
