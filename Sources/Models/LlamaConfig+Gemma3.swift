import Foundation

/// The gate's activation in a gated MLP: down(act(gate(x)) · up(x)).
public enum MLPActivation: String, Sendable, Equatable {
    /// SiLU, x·σ(x) (SwiGLU): Llama, Qwen, Mistral.
    case silu
    /// GeLU by its tanh approximation (GeGLU): Gemma's `gelu_pytorch_tanh`.
    case geluTanh
}

extension LlamaConfig {
    /// The layer kinds `layer_types` may name.
    static let layerTypes = ["full_attention", "sliding_attention"]

    /// Reads what Gemma 3's text model (`gemma3_text`) adds to the shared fields, with transformers' defaults.
    ///
    /// Accepted: both config forms, the published one (`rope_theta` for global layers, `rope_local_base_freq` for
    /// local ones, `rope_scaling` on global layers only, `sliding_window_pattern`) and transformers 5's
    /// (`layer_types`, `rope_parameters` per layer type). Refused, naming the field: another `hidden_activation`,
    /// `attn_logit_softcapping`, `use_bidirectional_attention`, rope scaling on local layers.
    mutating func readGemma3(_ c: RawLlamaConfig, path: String) throws {
        func bad(_ field: String, _ reason: String) -> ModelError {
            .badConfig(path: path, reason: "'\(field)' \(reason)")
        }
        let activationName = c.hiddenActivation ?? "gelu_pytorch_tanh"
        guard activationName == "gelu_pytorch_tanh" else {
            throw ModelError.unsupportedConfig(
                path: path, field: "hidden_activation", value: activationName, hint: "only gelu_pytorch_tanh (GeGLU)")
        }
        activation = .geluTanh
        if let cap = c.attnLogitSoftcapping {
            throw ModelError.unsupportedConfig(
                path: path, field: "attn_logit_softcapping", value: "\(cap)", hint: "Gemma 2's attention softcapping")
        }
        if c.useBidirectionalAttention == true {
            throw ModelError.unsupportedConfig(
                path: path, field: "use_bidirectional_attention", value: "true", hint: "causal attention only")
        }
        if let cap = c.finalLogitSoftcapping {
            guard cap > 0, cap < 1e6, Float(cap).isNormal else {
                throw bad("final_logit_softcapping", "must be a positive finite number or null, got \(cap)")
            }
            finalLogitSoftcap = Float(cap)
        }
        let attentionBias = c.attentionBias ?? false
        qkvBias = attentionBias
        outputBias = attentionBias
        mlpBias = false
        tieWordEmbeddings = c.tieWordEmbeddings ?? true
        qkNorm = true
        normWeightOffset = 1
        sandwichNorms = true
        embeddingScale = Float(Double(hiddenSize).squareRoot())
        let scalar = c.queryPreAttnScalar ?? 256
        guard scalar >= 1e-6, scalar <= 1e9 else {
            throw bad("query_pre_attn_scalar", "must lie in [1e-6, 1e9], got \(scalar)")
        }
        attentionScale = Float(pow(scalar, -0.5))

        // Which layers are local: layer_types, else every pattern-th layer is global.
        let local: [Bool]
        if let types = c.layerTypes {
            guard types.count == layerCount else {
                throw bad("layer_types", "has \(types.count) entries for num_hidden_layers \(layerCount)")
            }
            if let unknown = types.first(where: { !Self.layerTypes.contains($0) }) {
                throw ModelError.unsupportedConfig(
                    path: path, field: "layer_types", value: unknown, hint: "supported: full_attention, sliding_attention")
            }
            local = types.map { $0 == "sliding_attention" }
        } else {
            let field = c.slidingWindowPattern != nil ? "sliding_window_pattern" : "_sliding_window_pattern"
            let pattern = c.slidingWindowPattern ?? c.savedSlidingWindowPattern ?? 6
            guard pattern > 0 else { throw bad(field, "must be positive, got \(pattern)") }
            local = (0..<layerCount).map { ($0 + 1) % pattern != 0 }
        }
        let window = c.slidingWindow ?? 4096
        guard window > 0 else { throw bad("sliding_window", "must be positive, got \(window)") }
        slidingWindow = local.contains(true) ? window : nil
        layerWindows = local.map { $0 ? window : nil }

        // Rotary: global layers take rope_theta and its scaling, local ones rope_local_base_freq unscaled.
        var theta = c.ropeTheta ?? 1_000_000, thetaField = "rope_theta"
        var localTheta = c.ropeLocalBaseFreq ?? 10_000, localField = "rope_local_base_freq"
        var scaling = c.ropeScaling, scalingField = "rope_scaling"
        switch c.ropeParameters {
        case nil:
            break
        case .shared:
            throw bad("rope_parameters", "needs one entry per layer type for Gemma 3 (full_attention, sliding_attention)")
        case .perLayerType(let kinds):
            if let unknown = kinds.keys.sorted().first(where: { !Self.layerTypes.contains($0) }) {
                throw ModelError.unsupportedConfig(
                    path: path, field: "rope_parameters", value: unknown, hint: "supported: full_attention, sliding_attention")
            }
            if let global = kinds["full_attention"] {
                theta = global.ropeTheta ?? theta
                thetaField = "rope_parameters.full_attention.rope_theta"
                scaling = global
                scalingField = "rope_parameters.full_attention"
            }
            if let localParameters = kinds["sliding_attention"] {
                localTheta = localParameters.ropeTheta ?? localTheta
                localField = "rope_parameters.sliding_attention.rope_theta"
                let type = localParameters.ropeType ?? localParameters.type ?? "default"
                guard type == "default" else {
                    throw ModelError.unsupportedConfig(
                        path: path, field: "rope_parameters.sliding_attention.rope_type", value: type,
                        hint: "local layers take unscaled rotary")
                }
            }
        }
        for (field, value) in [(thetaField, theta), (localField, localTheta)] {
            guard value > 1, value.isFinite else { throw bad(field, "must be a finite number above 1, got \(value)") }
        }
        ropeTheta = theta
        localRopeTheta = localTheta
        ropeScaling = try Self.ropeScaling(scaling, field: scalingField, maxPositions: maxPositionEmbeddings, path: path)
    }
}
