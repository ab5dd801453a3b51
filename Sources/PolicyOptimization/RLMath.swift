import Foundation

// The reinforcement-learning arithmetic of PPO with per-token rewards, as pure functions over arrays and masks.
// Sequences are rows of equal length L (response tokens, right-padded); `mask[t]` is 1 for a real response
// token and 0 for padding. Formulas follow TRL's PPO trainer unless a doc comment says otherwise.

/// How the per-token KL between the policy π and the reference π_ref is estimated from log-probabilities.
public enum KLEstimator: String, Codable, Sendable, CaseIterable {
    /// k1 = log π(y) − log π_ref(y): unbiased, can be negative (TRL's default).
    case k1
    /// k3 = (r − 1) − log r with r = π_ref(y) / π(y): unbiased and never negative (Schulman's estimator).
    case k3
    /// Σ_v π(v)·(log π(v) − log π_ref(v)) over the whole vocabulary, computed from the logits (`fullKL`).
    case full
}

/// Per-token KL from the sampled tokens' log-probabilities (k1 or k3); `full` is computed by `fullKL` instead.
public func klPenalty(logProbabilities logp: [Float], reference ref: [Float], estimator: KLEstimator) -> [Float] {
    precondition(logp.count == ref.count, "log-probability rows differ in length")
    switch estimator {
    case .k1:
        return zip(logp, ref).map { $0 - $1 }
    case .k3:
        // log r = ref − logp; k3 = e^{log r} − 1 − log r
        return zip(logp, ref).map { lp, rp in
            let logr = rp - lp
            return Float(Foundation.exp(Double(logr)) - 1 - Double(logr))
        }
    case .full:
        preconditionFailure("the full KL needs the logits: use fullKL")
    }
}

/// Σ_v softmax(a)_v · (log softmax(a)_v − log softmax(b)_v) for one position's logits `a` (policy) and `b`
/// (reference), both already divided by the sampling temperature.
public func fullKL(policyLogits a: UnsafePointer<Float>, referenceLogits b: UnsafePointer<Float>, count V: Int) -> Float {
    var ma = -Float.infinity, mb = -Float.infinity
    for v in 0..<V { ma = max(ma, a[v]); mb = max(mb, b[v]) }
    var sa = 0.0, sb = 0.0
    for v in 0..<V { sa += Foundation.exp(Double(a[v] - ma)); sb += Foundation.exp(Double(b[v] - mb)) }
    let lsa = Double(ma) + Foundation.log(sa), lsb = Double(mb) + Foundation.log(sb)
    var kl = 0.0
    for v in 0..<V {
        let la = Double(a[v]) - lsa, lb = Double(b[v]) - lsb
        kl += Foundation.exp(la) * (la - lb)
    }
    return Float(kl)
}

/// The KL coefficient β: fixed, or TRL's adaptive controller (Ziegler et al. 2019):
/// e = clip(KL / target − 1, −0.2, 0.2); β ← β · (1 + e · n / horizon), with n the samples of the step.
public struct KLController: Codable, Sendable, Equatable {
    /// The current coefficient.
    public var value: Double
    /// The KL the controller steers toward; nil keeps β fixed.
    public var target: Double?
    /// How many samples it takes to close the gap (TRL: 10000).
    public var horizon: Double

    /// A controller starting at `value`.
    public init(value: Double, target: Double? = nil, horizon: Double = 10_000) {
        self.value = value
        self.target = target
        self.horizon = horizon
    }

    /// Moves β after a step whose mean sequence KL was `kl` over `samples` sequences.
    public mutating func update(kl: Double, samples: Int) {
        guard let target, target > 0, kl.isFinite else { return }
        let error = min(max(kl / target - 1, -0.2), 0.2)
        value *= 1 + error * Double(samples) / horizon
    }
}

/// Σ mask·x / Σ mask (0 when the mask is empty).
public func maskedMean(_ x: [Float], _ mask: [Float]) -> Double {
    precondition(x.count == mask.count, "values and mask differ in length")
    var s = 0.0, n = 0.0
    for i in x.indices { s += Double(x[i]) * Double(mask[i]); n += Double(mask[i]) }
    return n > 0 ? s / n : 0
}

/// The masked variance, unbiased (Bessel's correction n / (n − 1)) as TRL's `masked_var`.
public func maskedVariance(_ x: [Float], _ mask: [Float]) -> Double {
    let mean = maskedMean(x, mask)
    var s = 0.0, n = 0.0
    for i in x.indices { s += (Double(x[i]) - mean) * (Double(x[i]) - mean) * Double(mask[i]); n += Double(mask[i]) }
    guard n > 1 else { return 0 }
    return s / n * (n / (n - 1))
}

/// Whitening over the masked entries, as TRL's `masked_whiten`: (x − mean) / √(var + 1e-8), plus the mean back
/// when `shiftMean` is false. Masked-out entries are whitened too (callers ignore them).
public func maskedWhiten(_ x: [Float], _ mask: [Float], shiftMean: Bool = true) -> [Float] {
    let mean = maskedMean(x, mask), variance = maskedVariance(x, mask)
    let scale = 1 / (variance + 1e-8).squareRoot()
    return x.map { Float((Double($0) - mean) * scale + (shiftMean ? 0 : mean)) }
}

/// Generalised advantage estimation over one batch of rows of length L (rewards, values, mask each B·L):
/// δ_t = r_t + γ·V_{t+1} − V_t (V after the last real token is 0), A_t = δ_t + γλ·A_{t+1}, returns = A + V.
/// Padding positions carry no reward or value and get A = 0, so a row's last real token bootstraps from 0.
public func generalizedAdvantages(
    rewards: [Float], values: [Float], mask: [Float], length L: Int, gamma: Double, lambda: Double
) -> (advantages: [Float], returns: [Float]) {
    precondition(rewards.count == values.count && values.count == mask.count && L > 0 && rewards.count % L == 0,
                 "rewards, values and mask must be (B, L)")
    var advantages = [Float](repeating: 0, count: rewards.count), returns = advantages
    for row in stride(from: 0, to: rewards.count, by: L) {
        var next = 0.0, nextValue = 0.0
        for t in stride(from: L - 1, through: 0, by: -1) {
            let i = row + t
            guard mask[i] > 0 else { next = 0; nextValue = 0; continue }
            let value = Double(values[i])
            let delta = Double(rewards[i]) + gamma * nextValue - value
            next = delta + gamma * lambda * next
            advantages[i] = Float(next)
            returns[i] = Float(next + value)
            nextValue = value
        }
    }
    return (advantages, returns)
}

/// PPO's clipped surrogate over the masked tokens of a mini-batch, and its gradient with respect to each
/// token's new log-probability. With ρ = e^{clamp(logp − old, ±logRatioClamp)}:
/// L = mean_t max(−A_t·ρ_t, −A_t·clip(ρ_t, 1 − ε, 1 + ε)); dL/dlogp_t = −A_t·ρ_t / n where the unclipped term is
/// the larger (the clipped one has no gradient), 0 elsewhere; n = Σ mask, or `normalizer` when a replica holds only
/// part of a mini-batch (n is then the whole mini-batch's token count, and every figure is this part's share of
/// the mean: the replicas' figures sum to the mini-batch's).
public struct ClippedPolicyLoss: Sendable, Equatable {
    public var loss: Double
    /// dL/dlog π per token (0 on padding).
    public var gradient: [Float]
    /// The fraction of tokens where clipping was active.
    public var clipFraction: Double
    /// ½·mean (logp − old)², TRL's `approxkl`.
    public var approximateKL: Double
    /// mean ρ over the masked tokens.
    public var meanRatio: Double

    public init(logProbabilities logp: [Float], old: [Float], advantages: [Float], mask: [Float], clip epsilon: Double,
                logRatioClamp: Double = 20, normalizer: Float? = nil) {
        precondition(logp.count == old.count && old.count == advantages.count && advantages.count == mask.count,
                     "policy-loss inputs differ in length")
        let n = max(1, normalizer ?? mask.reduce(0, +))
        var loss = 0.0, clipped = 0.0, approx = 0.0, ratioSum = 0.0
        var gradient = [Float](repeating: 0, count: logp.count)
        for i in logp.indices where mask[i] > 0 {
            let logRatio = min(max(Double(logp[i] - old[i]), -logRatioClamp), logRatioClamp)
            let ratio = Foundation.exp(logRatio), a = Double(advantages[i])
            let unclipped = -a * ratio, clippedTerm = -a * min(max(ratio, 1 - epsilon), 1 + epsilon)
            loss += max(unclipped, clippedTerm)
            if clippedTerm > unclipped { clipped += 1 }
            // The clamp on the log-ratio has zero gradient outside ±logRatioClamp.
            if unclipped >= clippedTerm, abs(Double(logp[i] - old[i])) < logRatioClamp {
                gradient[i] = Float(-a * ratio / Double(n))
            }
            approx += 0.5 * logRatio * logRatio
            ratioSum += ratio
        }
        self.loss = loss / Double(n)
        self.gradient = gradient
        clipFraction = clipped / Double(n)
        approximateKL = approx / Double(n)
        meanRatio = ratioSum / Double(n)
    }
}

/// The clipped value loss: L = ½·mean_t max((v − R)², (clip(v, v_old ± c) − R)²), and dL/dv per token; the mean
/// is over Σ mask tokens or `normalizer` (as in `ClippedPolicyLoss`).
public struct ClippedValueLoss: Sendable, Equatable {
    public var loss: Double
    /// dL/dv per token (0 on padding).
    public var gradient: [Float]
    /// The fraction of tokens where the clipped term was the larger.
    public var clipFraction: Double

    public init(values v: [Float], oldValues old: [Float], returns: [Float], mask: [Float], clip c: Double,
                normalizer: Float? = nil) {
        precondition(v.count == old.count && old.count == returns.count && returns.count == mask.count,
                     "value-loss inputs differ in length")
        let n = max(1, normalizer ?? mask.reduce(0, +))
        var loss = 0.0, clipped = 0.0
        var gradient = [Float](repeating: 0, count: v.count)
        for i in v.indices where mask[i] > 0 {
            let value = Double(v[i]), ret = Double(returns[i])
            let lower = Double(old[i]) - c, upper = Double(old[i]) + c
            let clippedValue = min(max(value, lower), upper)
            let a = (value - ret) * (value - ret), b = (clippedValue - ret) * (clippedValue - ret)
            loss += 0.5 * max(a, b)
            if b > a { clipped += 1 }
            // Where the clipped term is the larger, v lies outside the clip range and that term is flat in v.
            if a >= b { gradient[i] = Float((value - ret) / Double(n)) }
        }
        self.loss = loss / Double(n)
        self.gradient = gradient
        clipFraction = clipped / Double(n)
    }
}

/// 1 − Var(returns − values) / Var(returns) over the masked tokens (how much of the return the value head explains).
public func explainedVariance(values: [Float], returns: [Float], mask: [Float]) -> Double {
    let variance = maskedVariance(returns, mask)
    guard variance > 0 else { return .nan }
    return 1 - maskedVariance(zip(returns, values).map { $0 - $1 }, mask) / variance
}
