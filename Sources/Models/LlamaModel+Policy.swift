import Tensor

/// What a policy's forward gives PPO per position: log π(target) at a temperature, the entropy of that
/// distribution, and the value head's estimate; (B·T) each, 0 where the target is ignored (−1).
public struct PolicyOutputs: Sendable, Equatable {
    /// log softmax(logits / T)[target].
    public var logProbabilities: [Float]
    /// −Σ p log p of softmax(logits / T).
    public var entropies: [Float]
    /// The value head on the final normed hidden state (empty without a value head).
    public var values: [Float]
}

extension LlamaModel {
    /// Runs `batch` and reads per-token log-probabilities of `targets` (B·T; −1 where ignored; `targets[n]` is
    /// the token after position n) at `temperature` (logits divided by T before the log-softmax, as TRL does),
    /// entropies when `entropies` is true, and `valueHead`'s values on the final normed hidden state.
    /// `activations` keep what `policyBackward` needs (the logits of the positions with a target, which are all
    /// the LM head computes; every layer for training).
    public func policyForward(
        _ batch: TokenBatch, targets: [Int32], temperature: Float, entropies: Bool = true, valueHead: ValueHead? = nil,
        activations a: LlamaActivations
    ) throws -> PolicyOutputs {
        let N = batch.batchSize * batch.length, V = config.vocabSize
        precondition(targets.count == N, "\(targets.count) targets for \(N) positions")
        guard let logits = a.logits else { preconditionFailure("per-token log-probabilities need all logits") }
        try forward(batch, activations: a, logitRows: Self.logitRows(forTargets: targets))
        let rowTargets = a.targets(of: targets), M = rowTargets.count
        var logp = [Float](repeating: 0, count: M), entropy = [Float](repeating: 0, count: entropies ? M : 0)
        var values = [Float](repeating: 0, count: valueHead == nil ? 0 : N)
        rowTargets.withUnsafeBufferPointer { t in
            entropy.withUnsafeMutableBufferPointer { h in
                tokenLogProbForward(logp: &logp, entropy: entropies ? h.baseAddress! : nil, logits: logits.data,
                                    targets: t.baseAddress!, temperature: temperature, rows: M, columns: V)
            }
        }
        if let rows = a.logitRows {
            logp = Self.scatter(logp, to: rows, count: N)
            if entropies { entropy = Self.scatter(entropy, to: rows, count: N) }
        }
        if let valueHead {
            values.withUnsafeMutableBufferPointer { valueHead.forward(values: $0.baseAddress!, hidden: a.finalNormed, rows: N) }
        }
        return PolicyOutputs(logProbabilities: logp, entropies: entropy, values: values)
    }

    /// A (count) array with `values[i]` at `rows[i]` and 0 elsewhere.
    static func scatter(_ values: [Float], to rows: [Int], count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        for (i, n) in rows.enumerated() { out[n] = values[i] }
        return out
    }

    /// Back-propagates a loss given by its per-position gradients: dL/dlog π (`logProbabilityGradients`), dL/dH
    /// (`entropyGradients`, optional) and dL/dvalue (`valueGradients`, with `valueHead`), through the value head
    /// and the trunk (the value gradient reaches the shared layers). A policy-gradient term Σ w_t ∇log π(y_t) is
    /// `logProbabilityGradients = −w`. Accumulates into `gradients` / `adapterGradients` / `valueHeadGradients`
    /// like `backward`; the activations must come from `policyForward` with every layer stored, and their logits
    /// are overwritten.
    public func policyBackward(
        _ batch: TokenBatch, targets: [Int32], temperature: Float, logProbabilityGradients: [Float],
        entropyGradients: [Float]? = nil, valueGradients: [Float]? = nil, valueHead: ValueHead? = nil,
        valueHeadGradients: ValueHead? = nil, activations a: LlamaActivations, gradients: LlamaWeights?,
        adapterGradients: LoRAAdapter?, buffers: LlamaBackwardBuffers
    ) {
        let N = batch.batchSize * batch.length, V = config.vocabSize, C = config.hiddenSize
        precondition(targets.count == N && logProbabilityGradients.count == N, "per-position inputs must be (B·T)")
        precondition(entropyGradients.map { $0.count == N } ?? true, "entropy gradients must be (B·T)")
        precondition((valueGradients == nil) == (valueHead == nil), "value gradients go with a value head")
        guard let logits = a.logits else { preconditionFailure("the backward needs all logits") }
        let rowTargets = a.targets(of: targets), M = rowTargets.count
        let rowWeights = a.perLogitRow(logProbabilityGradients)
        rowTargets.withUnsafeBufferPointer { t in
            rowWeights.withUnsafeBufferPointer { w in
                if let entropyGradients {
                    a.perLogitRow(entropyGradients).withUnsafeBufferPointer { e in
                        tokenLogProbBackward(dlogits: logits.data, logits: logits.data, targets: t.baseAddress!,
                                             logpWeights: w.baseAddress!, entropyWeights: e.baseAddress!,
                                             temperature: temperature, rows: M, columns: V)
                    }
                } else {
                    tokenLogProbBackward(dlogits: logits.data, logits: logits.data, targets: t.baseAddress!,
                                         logpWeights: w.baseAddress!, entropyWeights: nil, temperature: temperature,
                                         rows: M, columns: V)
                }
            }
        }
        guard let valueHead, let valueGradients else {
            backward(batch, activations: a, gradients: gradients, adapterGradients: adapterGradients, buffers: buffers)
            return
        }
        // values = finalNormed · wᵀ + b: the head's gradient, and its share of the hidden state's gradient.
        var hidden = [Float](repeating: 0, count: N * C)
        hidden.withUnsafeMutableBufferPointer { h in
            valueGradients.withUnsafeBufferPointer { dv in
                valueHead.backward(dhidden: h.baseAddress!, gradients: valueHeadGradients, dvalues: dv.baseAddress!,
                                   hidden: a.finalNormed, rows: N)
            }
            backward(batch, activations: a, gradients: gradients, adapterGradients: adapterGradients, buffers: buffers,
                     hiddenGradient: UnsafePointer(h.baseAddress!))
        }
    }
}
