import Tensor

/// Keys and values of every layer for a batch of sequences, plus the buffers one decode step needs.
///
/// The cache has one timeline of slots shared by the batch: each step appends T slots to every sequence,
/// some of them padding (mask 0), e.g. the left padding of shorter prompts. Positions count only real
/// tokens, so a sequence gets the same rotary angles alone or in any batch.
// Unchecked Sendable: raw buffers of one generator, which runs one step at a time.
public final class KVCache: @unchecked Sendable {
    public let config: LlamaConfig
    /// The sequences in the cache now (`keepRows` drops finished ones; `reset` restores `allocatedRows`).
    public private(set) var batchSize: Int
    /// The sequences the cache was made for.
    public let allocatedRows: Int
    /// Slots per sequence (prompt plus generated tokens, padding included).
    public let capacity: Int
    /// The most new tokens one step may take (longer prompts are fed in chunks).
    public let maxStepTokens: Int
    /// Slots filled so far.
    public private(set) var length = 0
    /// The position the next real token of each sequence gets.
    public private(set) var nextPositions: [Int32]

    let arena: TensorArena
    let keys: [UnsafeMutablePointer<Float>]    // per layer (B, S, KVH, HS), after rotary
    let values: [UnsafeMutablePointer<Float>]  // per layer (B, S, KVH, HS)
    let slotMask: UnsafeMutablePointer<Float>  // (B, S)

    // Step buffers for N = B · maxStepTokens rows.
    let x: UnsafeMutablePointer<Float>          // (N, C) residual stream
    let normed: UnsafeMutablePointer<Float>     // (N, C)
    let rstd: UnsafeMutablePointer<Float>       // (N)
    let qkv: UnsafeMutablePointer<Float>        // (N, Q + 2·KV)
    let attention: UnsafeMutablePointer<Float>  // (N, Q)
    let projection: UnsafeMutablePointer<Float> // (N, C)
    let gateUp: UnsafeMutablePointer<Float>     // (N, 2·I)
    let hidden: UnsafeMutablePointer<Float>     // (N, I)
    let lastRows: UnsafeMutablePointer<Float>   // (B, C) the last new token of each sequence
    let scratch: UnsafeMutablePointer<Float>    // attention scores
    /// (B, V) logits of each sequence's last new token after a step.
    public let logits: Tensor

    /// A cache for `batchSize` sequences of up to `capacity` slots each.
    public init(config c: LlamaConfig, batchSize B: Int, capacity S: Int, maxStepTokens: Int = 64) {
        precondition(B > 0 && S > 0 && maxStepTokens > 0, "empty cache")
        self.config = c
        self.batchSize = B
        allocatedRows = B
        self.capacity = S
        self.maxStepTokens = maxStepTokens
        nextPositions = [Int32](repeating: 0, count: B)
        let N = B * maxStepTokens, C = c.hiddenSize, I = c.intermediateSize
        let Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize
        var table: [(name: String, shape: [Int])] = []
        for l in 0..<c.layerCount { table += [("k.\(l)", [B, S, KV]), ("v.\(l)", [B, S, KV])] }
        table += [
            ("mask", [B, S]), ("x", [N, C]), ("normed", [N, C]), ("rstd", [N]), ("qkv", [N, Q + 2 * KV]),
            ("attention", [N, Q]), ("projection", [N, C]), ("gateUp", [N, 2 * I]), ("hidden", [N, I]),
            ("lastRows", [B, C]),
            ("scratch", [cachedAttentionScratchCount(newTokens: maxStepTokens, slots: S, heads: c.headCount, kvHeads: c.kvHeadCount)]),
        ]
        let arena = TensorArena(layout: table)
        self.arena = arena
        func p(_ name: String) -> UnsafeMutablePointer<Float> { arena.tensor(name).data }
        keys = (0..<c.layerCount).map { p("k.\($0)") }
        values = (0..<c.layerCount).map { p("v.\($0)") }
        slotMask = p("mask")
        x = p("x"); normed = p("normed"); rstd = p("rstd"); qkv = p("qkv"); attention = p("attention")
        projection = p("projection"); gateUp = p("gateUp"); hidden = p("hidden"); lastRows = p("lastRows")
        scratch = p("scratch")
        logits = Tensor(shape: [B, c.vocabSize])
    }

    /// Forgets every sequence, keeping the memory.
    public func reset() {
        length = 0
        batchSize = allocatedRows
        nextPositions = [Int32](repeating: 0, count: allocatedRows)
        slotMask.update(repeating: 0, count: allocatedRows * capacity)
    }

    /// Keeps only the sequences `rows` (ascending, each < `batchSize`), moved to rows 0, 1, ... in that order,
    /// so later steps compute nothing for the others: a batch whose sequences finish early gets cheaper as they
    /// finish. Copies each kept sequence's filled slots in every layer (a few MB, far less than one step reads).
    /// Keeping none empties the cache for `admitting` (no step may run on it until then).
    public func keepRows(_ rows: [Int]) {
        precondition(zip(rows, rows.dropFirst()).allSatisfy { $0 < $1 } && (rows.last ?? 0) < max(batchSize, 1),
                     "rows to keep must be ascending and in the batch")
        let KV = config.kvHeadCount * config.headSize, S = capacity
        for (i, r) in rows.enumerated() where i != r {
            for l in 0..<config.layerCount {
                (keys[l] + i * S * KV).update(from: keys[l] + r * S * KV, count: length * KV)
                (values[l] + i * S * KV).update(from: values[l] + r * S * KV, count: length * KV)
            }
            (slotMask + i * S).update(from: slotMask + r * S, count: S)
        }
        nextPositions = rows.map { nextPositions[$0] }
        batchSize = rows.count
        if rows.isEmpty { length = 0 }
    }

    /// Drops the leading slots that are padding in every sequence when they are at least half of the filled
    /// slots (and at least 32), moving the rest to the front, so that a batch that keeps admitting sequences
    /// does not grow without bound: once its oldest sequences have left, the padding the others were given to
    /// line up with them goes too. Attention is unchanged (those slots were masked everywhere). Returns whether
    /// it trimmed.
    @discardableResult
    public func trimLeadingPadding() -> Bool {
        guard batchSize > 0, length > 0 else { return false }
        let S = capacity
        var common = length
        for b in 0..<batchSize {
            var first = 0
            while first < common && slotMask[b * S + first] <= 0 { first += 1 }
            common = min(common, first)
        }
        guard common >= 32, 2 * common >= length else { return false }
        let KV = config.kvHeadCount * config.headSize, kept = length - common
        for b in 0..<batchSize {
            for l in 0..<config.layerCount {
                (keys[l] + b * S * KV).update(from: keys[l] + (b * S + common) * KV, count: kept * KV)
                (values[l] + b * S * KV).update(from: values[l] + (b * S + common) * KV, count: kept * KV)
            }
            (slotMask + b * S).update(from: slotMask + b * S + common, count: kept)
        }
        length = kept
        return true
    }

    /// Adds every sequence of `joining` (a cache its prompts were prefilled into, nothing generated yet) after
    /// this cache's sequences, for continuous batching: they are placed so that their last filled slot lines up
    /// with this cache's, with masked slots in front, as if they had been left-padded into the batch from the start.
    /// When `joining` has more filled slots than this cache, this cache's sequences move right first (their left
    /// padding grows). Returns this cache, or a larger copy when the rows or the `capacity` slots needed by the
    /// longest remaining sequence do not fit; the copy costs one pass over the filled slots.
    public func admitting(_ joining: KVCache, capacity needed: Int) -> KVCache {
        precondition(joining.config == config, "caches of different models")
        let shift = max(0, joining.length - length)
        let newLength = length + shift
        let rows = batchSize + joining.batchSize
        let KV = config.kvHeadCount * config.headSize
        let target: KVCache
        if rows <= allocatedRows && needed <= capacity && shift == 0 {
            target = self
        } else {
            target = KVCache(config: config, batchSize: max(rows, allocatedRows), capacity: max(needed, capacity, newLength),
                             maxStepTokens: maxStepTokens)
            let S = capacity, T = target.capacity
            for r in 0..<batchSize {
                for l in 0..<config.layerCount {
                    (target.keys[l] + (r * T + shift) * KV).update(from: keys[l] + r * S * KV, count: length * KV)
                    (target.values[l] + (r * T + shift) * KV).update(from: values[l] + r * S * KV, count: length * KV)
                }
                (target.slotMask + r * T + shift).update(from: slotMask + r * S, count: length)
            }
        }
        let T = target.capacity, J = joining.capacity, start = newLength - joining.length
        for j in 0..<joining.batchSize {
            let r = batchSize + j
            for l in 0..<config.layerCount {
                (target.keys[l] + (r * T + start) * KV).update(from: joining.keys[l] + j * J * KV, count: joining.length * KV)
                (target.values[l] + (r * T + start) * KV).update(from: joining.values[l] + j * J * KV, count: joining.length * KV)
            }
            // Slots before the prompt are padding; a reused row may hold an earlier sequence's mask there.
            (target.slotMask + r * T).update(repeating: 0, count: start)
            (target.slotMask + r * T + start).update(from: joining.slotMask + j * J, count: joining.length)
        }
        target.nextPositions = Array(nextPositions.prefix(batchSize)) + joining.nextPositions.prefix(joining.batchSize)
        target.batchSize = rows
        target.length = newLength
        return target
    }

    /// Slots still free.
    public var remaining: Int { capacity - length }

    /// Records T new slots per sequence with their mask (B, T) and returns their positions (B, T).
    func append(mask: [Float], tokens T: Int) -> [Int32] {
        var positions = [Int32](repeating: 0, count: batchSize * T)
        for b in 0..<batchSize {
            for t in 0..<T {
                let real = mask[b * T + t] > 0
                slotMask[b * capacity + length + t] = real ? 1 : 0
                positions[b * T + t] = nextPositions[b]
                if real { nextPositions[b] += 1 }
            }
        }
        length += T
        return positions
    }
}
