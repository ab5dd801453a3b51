import Tensor

/// A projection LoRA can adapt, named as in the checkpoint (and in PEFT's `target_modules`).
public enum LoRAModule: String, CaseIterable, Codable, Sendable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj", gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The module path inside a decoder layer, e.g. `self_attn.q_proj`.
    public var path: String {
        switch self {
        case .q, .k, .v, .o: return "self_attn." + rawValue
        case .gate, .up, .down: return "mlp." + rawValue
        }
    }

    /// (in, out) features of the projection.
    public func shape(_ c: LlamaConfig) -> (input: Int, output: Int) {
        let C = c.hiddenSize, Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize, I = c.intermediateSize
        switch self {
        case .q: return (C, Q)
        case .k, .v: return (C, KV)
        case .o: return (Q, C)
        case .gate, .up: return (C, I)
        case .down: return (I, C)
        }
    }

    /// Where this projection's outputs start inside its fused matrix (q/k/v in `qkv`, gate/up in `gateUp`),
    /// and that matrix's row count: the output row stride of the forward.
    public func slice(_ c: LlamaConfig) -> (offset: Int, stride: Int) {
        let C = c.hiddenSize, Q = c.headCount * c.headSize, KV = c.kvHeadCount * c.headSize, I = c.intermediateSize
        switch self {
        case .q: return (0, Q + 2 * KV)
        case .k: return (Q, Q + 2 * KV)
        case .v: return (Q + KV, Q + 2 * KV)
        case .o, .down: return (0, C)
        case .gate: return (0, 2 * I)
        case .up: return (I, 2 * I)
        }
    }
}

/// LoRA hyper-parameters, as PEFT's `LoraConfig` names them.
public struct LoRAConfig: Sendable, Equatable, Codable {
    public var rank: Int
    public var alpha: Double
    public var dropout: Double
    /// Scale by alpha/√rank instead of alpha/rank (Kalajdzievski 2023, PEFT's `use_rslora`).
    public var useRSLoRA: Bool
    public var targetModules: [LoRAModule]

    /// Defaults: rank 16, alpha 32, no dropout, q/k/v/o.
    public init(rank: Int = 16, alpha: Double = 32, dropout: Double = 0, useRSLoRA: Bool = false,
                targetModules: [LoRAModule] = [.q, .k, .v, .o]) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.useRSLoRA = useRSLoRA
        self.targetModules = LoRAModule.allCases.filter(targetModules.contains)
    }

    /// The factor on B·A: alpha/r, or alpha/√r with rsLoRA.
    public var scaling: Float { Float(useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)) }
}

/// Low-rank adapters W + s·B·A on a model's projections, in one arena named with PEFT's keys
/// (`base_model.model.model.layers.L.self_attn.q_proj.lora_A.weight`, A (r, in), B (out, r)).
///
/// An adapter built for gradients has the same table, so AdamW runs over it as over full weights.
// Unchecked Sendable: raw tensors, changed between passes; a pass's kernels write disjoint slices.
public final class LoRAAdapter: @unchecked Sendable {
    public let config: LoRAConfig
    public let modelConfig: LlamaConfig
    public let arena: TensorArena
    /// When false the model runs as the base model (PPO's reference policy).
    public var enabled = true
    /// Set during training to apply dropout on the adapters' inputs; each value gives a new mask.
    public var dropoutSeed: UInt64?
    private let pointers: [[LoRAModule: (a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>)]]

    /// The PEFT key of one factor, e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`.
    public static func key(layer: Int, module: LoRAModule, factor: String) -> String {
        "base_model.model.model.layers.\(layer).\(module.path).lora_\(factor).weight"
    }

    public static func layout(_ c: LlamaConfig, _ lora: LoRAConfig) -> [(name: String, shape: [Int])] {
        var table: [(name: String, shape: [Int])] = []
        for l in 0..<c.layerCount {
            for m in lora.targetModules {
                let (input, output) = m.shape(c)
                table.append((key(layer: l, module: m, factor: "A"), [lora.rank, input]))
                table.append((key(layer: l, module: m, factor: "B"), [output, lora.rank]))
            }
        }
        return table
    }

    /// Zero-filled adapters (B = 0 and A = 0); call `initialize` for PEFT's initialisation.
    public init(config: LoRAConfig, modelConfig: LlamaConfig) {
        precondition(config.rank > 0, "LoRA rank must be positive")
        self.config = config
        self.modelConfig = modelConfig
        let arena = TensorArena(layout: Self.layout(modelConfig, config))
        self.arena = arena
        pointers = (0..<modelConfig.layerCount).map { l in
            var entry: [LoRAModule: (a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>)] = [:]
            for m in config.targetModules {
                entry[m] = (arena.tensor(Self.key(layer: l, module: m, factor: "A")).data,
                            arena.tensor(Self.key(layer: l, module: m, factor: "B")).data)
            }
            return entry
        }
    }

    /// PEFT's default: A ~ kaiming-uniform(a = √5) = U(−1/√in, 1/√in), B = 0, so the adapted model starts as the base.
    public func initialize(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        arena.zero()
        for l in 0..<modelConfig.layerCount {
            for m in config.targetModules {
                let bound = 1 / Float(m.shape(modelConfig).input).squareRoot()
                let a = factors(layer: l, module: m)!.a
                for i in 0..<config.rank * m.shape(modelConfig).input { a[i] = (2 * rng.nextUniform() - 1) * bound }
            }
        }
    }

    /// A (r, in) and B (out, r) of one module; nil when the module is not adapted.
    public func factors(layer: Int, module: LoRAModule) -> (a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>)? {
        pointers[layer][module]
    }

    /// Dropout keep-mask value of element `index` of module `module`'s input in layer `layer`: 0 or 1/(1−p).
    /// A counter-based hash, so the backward regenerates the forward's mask without storing it.
    @inline(__always)
    func keep(_ seed: UInt64, layer: Int, module: LoRAModule, index: Int) -> Float {
        var g = SplitMix64(seed: seed ^ (UInt64(layer) &* 0x1000_0000_01B3) ^ (UInt64(module.hashIndex) << 56) ^ UInt64(index) &* 0x9E37_79B9)
        return g.nextUniform() < Float(config.dropout) ? 0 : 1 / (1 - Float(config.dropout))
    }

    /// The adapter's input: x itself, or a dropped-out copy while training.
    func adapterInput(_ x: UnsafePointer<Float>, rows N: Int, layer: Int, module: LoRAModule) -> (UnsafePointer<Float>, Tensor?) {
        guard let seed = dropoutSeed, config.dropout > 0 else { return (x, nil) }
        let IN = module.shape(modelConfig).input
        let copy = Tensor(shape: [N, IN])
        for i in 0..<N * IN { copy[i] = x[i] * keep(seed, layer: layer, module: module, index: i) }
        return (UnsafePointer(copy.data), copy)
    }

    /// out[:, slice] += s · (x·Aᵀ)·Bᵀ for each adapted module of `modules` (x (N, in) shared by the group).
    ///
    /// The products are small (rank r), so rows are split between the engine's threads with single-threaded
    /// BLAS inside: OpenBLAS's own threads would keep spinning and slow the large products that follow.
    public func forward(_ modules: [LoRAModule], layer l: Int, out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows N: Int) {
        guard enabled else { return }
        let r = config.rank, s = config.scaling
        let tmp = Tensor(shape: [N, r])  // (N, r) x·Aᵀ
        for m in modules {
            guard let factors = pointers[l][m] else { continue }
            let (a, b) = factors
            let (IN, OUT) = m.shape(modelConfig), (offset, stride) = m.slice(modelConfig)
            let (x, keepAlive) = adapterInput(input, rows: N, layer: l, module: m)
            BLAS.singleThreaded {
                Parallel.forEachChunk(count: N, costPerItem: 2 * r * (IN + OUT)) { rows in
                    let n0 = rows.lowerBound, n = rows.count
                    BLAS.sgemm(transA: false, transB: true, m: n, n: r, k: IN, alpha: 1, a: x + n0 * IN, lda: IN, b: a, ldb: IN,
                               beta: 0, c: tmp.data + n0 * r, ldc: r)
                    BLAS.sgemm(transA: false, transB: true, m: n, n: OUT, k: r, alpha: s, a: tmp.data + n0 * r, lda: r, b: b, ldb: r,
                               beta: 1, c: out + n0 * stride + offset, ldc: stride)
                }
            }
            withExtendedLifetime(keepAlive) {}
        }
    }

    /// The backward of `forward`, accumulating: dinput += s·(dout·B)·A (through the dropout mask), and into
    /// `gradients` (an adapter with the same table) dB += s·doutᵀ·(x·Aᵀ), dA += s·(dout·B)ᵀ·x.
    public func backward(
        _ modules: [LoRAModule], layer l: Int, dinput: UnsafeMutablePointer<Float>, gradients: LoRAAdapter?,
        dout: UnsafePointer<Float>, input: UnsafePointer<Float>, rows N: Int
    ) {
        guard enabled else { return }
        let r = config.rank, s = config.scaling
        let tmp = Tensor(shape: [N, r]), dtmp = Tensor(shape: [N, r])
        for m in modules {
            guard let factors = pointers[l][m] else { continue }
            let (a, b) = factors
            let (IN, OUT) = m.shape(modelConfig), (offset, stride) = m.slice(modelConfig)
            let (x, keepAlive) = adapterInput(input, rows: N, layer: l, module: m)
            BLAS.singleThreaded {
                // dtmp (N, r) = s · dout[:, slice] · B   — inverts `out += s · tmp · Bᵀ`; rows split between threads
                Parallel.forEachChunk(count: N, costPerItem: 4 * r * (IN + OUT)) { rows in
                    let n0 = rows.lowerBound, n = rows.count
                    BLAS.sgemm(transA: false, transB: false, m: n, n: r, k: OUT, alpha: s, a: dout + n0 * stride + offset, lda: stride,
                               b: b, ldb: r, beta: 0, c: dtmp.data + n0 * r, ldc: r)
                    if gradients != nil {
                        BLAS.sgemm(transA: false, transB: true, m: n, n: r, k: IN, alpha: 1, a: x + n0 * IN, lda: IN, b: a, ldb: IN,
                                   beta: 0, c: tmp.data + n0 * r, ldc: r)
                    }
                }
                if let gradient = gradients?.factors(layer: l, module: m) {
                    let (da, db) = gradient
                    // dB (OUT, r) += s · dout[:, slice]ᵀ · tmp
                    BLAS.sgemm(transA: true, transB: false, m: OUT, n: r, k: N, alpha: s, a: dout + offset, lda: stride,
                               b: tmp.data, ldb: r, beta: 1, c: db, ldc: r)
                    // dA (r, IN) += dtmpᵀ · x   — inverts `tmp = x · Aᵀ`
                    BLAS.sgemm(transA: true, transB: false, m: r, n: IN, k: N, alpha: 1, a: dtmp.data, lda: r, b: x, ldb: IN,
                               beta: 1, c: da, ldc: IN)
                }
                // dinput += dtmp · A, through the dropout mask when training with dropout
                let seed = config.dropout > 0 ? dropoutSeed : nil
                Parallel.forEachChunk(count: N, costPerItem: 2 * r * IN) { rows in
                    let n0 = rows.lowerBound, n = rows.count
                    if let seed {
                        let dx = Tensor(shape: [n, IN])
                        BLAS.sgemm(transA: false, transB: false, m: n, n: IN, k: r, alpha: 1, a: dtmp.data + n0 * r, lda: r,
                                   b: a, ldb: IN, beta: 0, c: dx.data, ldc: IN)
                        for i in 0..<n * IN {
                            dinput[n0 * IN + i] += dx[i] * self.keep(seed, layer: l, module: m, index: n0 * IN + i)
                        }
                    } else {
                        BLAS.sgemm(transA: false, transB: false, m: n, n: IN, k: r, alpha: 1, a: dtmp.data + n0 * r, lda: r,
                                   b: a, ldb: IN, beta: 1, c: dinput + n0 * IN, ldc: IN)
                    }
                }
            }
            withExtendedLifetime(keepAlive) {}
        }
    }

    public var parameterCount: Int { arena.count }
}

extension LoRAModule {
    var hashIndex: Int { LoRAModule.allCases.firstIndex(of: self)! }
}

extension LlamaWeights {
    /// Folds an adapter into the base weights: W[slice] += s · B·A for every adapted module, so the model
    /// runs as base + adapter with no adapter attached (what `merge-lora` and `--adapter` use).
    public func merge(_ adapter: LoRAAdapter) {
        precondition(adapter.modelConfig == config, "adapter built for another model")
        let c = config, s = adapter.config.scaling, r = adapter.config.rank
        for l in 0..<c.layerCount {
            let w = layers[l]
            for m in adapter.config.targetModules {
                let (a, b) = adapter.factors(layer: l, module: m)!
                let (IN, OUT) = m.shape(c), offset = m.slice(c).offset
                let matrix: UnsafeMutablePointer<Float>
                switch m {
                case .q, .k, .v: matrix = w.qkv
                case .o: matrix = w.o
                case .gate, .up: matrix = w.gateUp
                case .down: matrix = w.down
                }
                // rows offset..<offset+OUT of the (fused) matrix, each IN wide
                BLAS.sgemm(transA: false, transB: false, m: OUT, n: IN, k: r, alpha: s, a: b, lda: r, b: a, ldb: IN,
                           beta: 1, c: matrix + offset * IN, ldc: IN)
            }
        }
    }
}
