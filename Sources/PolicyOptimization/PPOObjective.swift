import Common
import Foundation
import Generation
import JSON
import Models
import RewardModel
import Spans
import Tensor
import Tokenizers
import Training

/// Anything that critiques (prompt, response) pairs: a local or remote reward model (`Critic`), or a teacher.
public protocol CritiqueSource: AnyObject {
    func critique(_ pairs: [CritiquePair]) throws -> [CritiqueOutcome]
}

extension Critic: CritiqueSource {}

/// PPO with rewards from critiques, as a training-loop objective. A step is six phases, each a method:
/// rollout → score → rewards → advantages → optimize → log (the figures under TRL's names). Each phase's wall
/// time is logged as `time/<phase>`, and `time/reference`, the part of `time/rewards` the reference takes.
///
/// With several data-parallel replicas, each rolls out, critiques and scores its share of the step's prompts
/// (rows dealt out by rank, each sampled from its global row's seed), then `gather` gives every replica the whole
/// batch's ids and per-token figures, so advantages, whitening and β are the one-process ones; each mini-batch's
/// rows are again shared out for the forward and backward passes, normalised by the mini-batch's token count.
public final class PPOObjective: TrainingObjective {
    /// What a resume restores besides tensors.
    public struct State: Codable, Sendable, Equatable {
        public var cursor = DataCursor()
        /// Seeds each step's sampling and mini-batch order.
        public var rng = SplitMix64(seed: 0)
        public var kl: KLController
    }

    public var state: State
    public let config: PPOConfig
    public let trainable: TrainableModel
    public let tokenizer: Tokenizer
    public let critic: CritiqueSource
    public let format: RewardModelFormat
    public let prompts: [PolicyPrompt]
    public let evalPrompts: [PolicyPrompt]
    /// The reference policy when every weight trains (under LoRA the reference is the adapter switched off).
    public let frozenReference: LlamaModel?
    /// A task's own metric of a response (the built-in task: fact accuracy), or nil.
    public var taskMetric: ((PolicyPrompt, String) -> Double?)?
    /// Where a few rollouts per step are written with their per-token figures (rank 0), or nil.
    public var samples: StepFile?
    let padId: Int
    let endOfSequence: Set<Int>
    var model: LlamaModel { trainable.model }
    /// The buffers of every pass over mini-batches (the old policy's, the reference's, the updates'), kept from step
    /// to step and grown to the longest mini-batch seen: fresh memory costs its first touch, about a second a step
    /// at the SmolLM shape.
    var buffers: TrainingBuffers?

    public init(
        config: PPOConfig, trainable: TrainableModel, tokenizer: Tokenizer, critic: CritiqueSource, format: RewardModelFormat,
        prompts: [PolicyPrompt], evalPrompts: [PolicyPrompt], frozenReference: LlamaModel?
    ) {
        precondition(!prompts.isEmpty, "PPO without prompts")
        precondition(trainable.valueHead != nil, "PPO trains a value head")
        self.config = config
        self.trainable = trainable
        self.tokenizer = tokenizer
        self.critic = critic
        self.format = format
        self.prompts = prompts
        self.evalPrompts = evalPrompts
        self.frozenReference = frozenReference
        padId = ModelFiles.padId(tokenizer: tokenizer, model: trainable.model)
        endOfSequence = Set(trainable.model.config.eosTokenIds + tokenizer.eosTokenIds)
        trainable.model.useDecodePrecision(config.decoding.weights)
        state = State(rng: SplitMix64(seed: config.loop.seed ^ 0x5EED), kl: KLController(
            value: config.klCoef, target: config.klTarget, horizon: config.klHorizon))
    }

    // MARK: - The step

    public func step(_ context: StepContext) throws -> [String: Double] {
        var times: [String: Double] = [:]
        func timed<T>(_ name: String, _ work: () throws -> T) rethrows -> T {
            let start = Date()
            defer { times["time/" + name] = Date().timeIntervalSince(start) }
            return try work()
        }
        let reducer = context.reducer
        var cursor = state.cursor, rng = state.rng
        let batch = cursor.next(config.loop.batchSize, of: prompts.count, seed: config.loop.seed).map { prompts[$0] }
        let rows = reducer.shard(Array(batch.indices))
        let seed = rng.next()
        let mine = try timed("rollout") { try rollout(rows.map { batch[$0] }, seed: seed, greedy: false, rows: rows) }
        let myScores = try timed("score") { try score(mine) }
        let myRewards = try timed("rewards") { try self.rewards(mine, scores: myScores) }
        times["time/reference"] = myRewards.referenceSeconds
        let (rollouts, scores, rewards) = reducer.worldSize == 1 ? (mine, myScores, myRewards)
            : timed("gather") { gather(batch, rows: rows, mine, scores: myScores, rewards: myRewards, reducer: reducer) }
        let advantages = timed("advantages") { self.advantages(rollouts, rewards: rewards) }
        let stats = try timed("optimize") { try optimize(context, rollouts, rewards: rewards, advantages: advantages, rng: &rng) }
        state.kl.update(kl: rewards.meanSequenceKL, samples: rollouts.count)
        state.cursor = cursor
        state.rng = rng
        var record = log(rollouts, scores: scores, rewards: rewards, advantages: advantages, stats: stats)
        record.merge(times) { $1 }
        if let samples {
            let myAdvantages = reducer.worldSize == 1 ? advantages : Advantages(
                advantages: pickRows(advantages.advantages, rows: rows, from: rollouts.length, to: mine.length),
                returns: pickRows(advantages.returns, rows: rows, from: rollouts.length, to: mine.length))
            try writeSamples(samples, step: context.step, mine, scores: myScores, rewards: myRewards, advantages: myAdvantages)
        }
        return record
    }

    // MARK: Phase 1: rollout

    /// Samples a response per prompt from the policy (adapter on), keeping the sampled ids. `rows` are the
    /// prompts' places in the step's global batch (default 0, 1, ...): each one's sampling seed derives from it, so
    /// a row samples the same tokens whichever replica rolls it out.
    public func rollout(_ batch: [PolicyPrompt], seed: UInt64, greedy: Bool, rows: [Int]? = nil) throws -> Rollouts {
        var parameters = SamplingParameters()
        parameters.maxNewTokens = config.sampling.maxNewTokens
        parameters.minNewTokens = config.sampling.minNewTokens
        if !greedy {
            parameters.temperature = Float(config.sampling.temperature)
            parameters.topP = Float(config.sampling.topP)
            parameters.topK = config.sampling.topK
        }
        let requests = batch.enumerated().map { i, prompt -> GenerationRequest in
            var p = parameters
            p.seed = Self.sampleSeed(seed, row: rows?[i] ?? i)
            return GenerationRequest(promptIds: prompt.ids, parameters: p)
        }
        // Every weight trains: the bf16 copies (if any) are narrowed again from the updated parameters.
        if model.adapter == nil { model.decodeMatrices.refresh() }
        let generated = try Generator(model: model, tokenizer: tokenizer).generate(requests)
        return Rollouts(prompts: batch, responseIds: generated.map(\.tokenIds), tokenizer: tokenizer, endOfSequence: endOfSequence)
    }

    // MARK: Phase 2: score

    /// The critiques of a step's responses, turned into per-token span scores and one sequence score each.
    public struct Scores {
        /// Per response (only this replica's rows are critiqued here, so a gathered batch holds none).
        public var critiques: [CritiqueOutcome]
        /// (B, L) span scores of the response tokens (token mode's reward before the KL term).
        public var tokenScores: [Float]
        /// Per response: its sequence score by `scalar_score` (`sequenceScore`), or `unparsed_score`.
        public var sequenceScores: [Double]
        public var unparsed: Int
        /// Spans quoted, and those not found in the response.
        public var quoted: Int
        public var unmatched: Int
        public var positiveFraction: Double
        public var negativeFraction: Double
        public var unmatchedRate: Double { quoted > 0 ? Double(unmatched) / Double(quoted) : 0 }

        init(critiques: [CritiqueOutcome], tokenScores: [Float], sequenceScores: [Double], unparsed: Int, quoted: Int,
             unmatched: Int, mask: [Float]) {
            self.critiques = critiques
            self.tokenScores = tokenScores
            self.sequenceScores = sequenceScores
            self.unparsed = unparsed
            self.quoted = quoted
            self.unmatched = unmatched
            let tokens = Double(max(1, mask.reduce(0, +)))
            positiveFraction = Double(tokenScores.filter { $0 > 0 }.count) / tokens
            negativeFraction = Double(tokenScores.filter { $0 < 0 }.count) / tokens
        }
    }

    public func score(_ rollouts: Rollouts) throws -> Scores {
        let pairs = (0..<rollouts.count).map {
            CritiquePair(id: rollouts.prompts[$0].id, prompt: rollouts.prompts[$0].text, response: rollouts.responses[$0])
        }
        let critiques = try critic.critique(pairs)
        let rule = TokenRewardRule(neutral: config.neutralScore, scoreNonAlphanumeric: config.scoreNonAlphanumeric)
        var perRow: [[Float]] = [], sequence: [Double] = [], unparsed = 0, quoted = 0, unmatched = 0
        for (b, outcome) in critiques.enumerated() {
            let offsets = rollouts.offsets[b]
            guard let record = outcome.record else {
                unparsed += 1
                perRow.append([Float](repeating: Float(config.neutralScore), count: offsets.count))
                sequence.append(config.unparsedScore)
                continue
            }
            quoted += record.spans.count
            unmatched += record.spans.filter { $0.match == .unmatched }.count
            let spans = record.spans.compactMap { s in s.start.flatMap { a in s.end.map { ScoredSpan(start: a, end: $0, score: s.score) } } }
            let scores = spanTokenScores(offsets: offsets, spans: spans, text: rollouts.responses[b], rule: rule)
            perRow.append(scores)
            sequence.append(sequenceScore(tokenScores: scores, offsets: offsets, spans: spans, rule: config.scalarScore))
        }
        return Scores(critiques: critiques, tokenScores: rollouts.rows { perRow[$0] }, sequenceScores: sequence,
                      unparsed: unparsed, quoted: quoted, unmatched: unmatched, mask: rollouts.mask)
    }

    // MARK: Phase 3: rewards

    /// The old policy's and the reference's per-token figures, and the rewards r_t = s_t − β·KL_t.
    public struct Rewards {
        public var oldLogProbabilities: [Float]
        public var referenceLogProbabilities: [Float]
        public var values: [Float]
        public var kl: [Float]
        /// s_t: span scores (token mode) or the sequence score on the last token (scalar mode), EOS penalty included.
        public var scores: [Float]
        public var rewards: [Float]
        public var meanSequenceKL: Double
        /// Seconds of the phase spent on the reference: its forward passes, then the KL and the rewards from them
        /// (the rest is the policy's forward for the old log-probabilities and values).
        public var referenceSeconds = 0.0
    }

    public func rewards(_ rollouts: Rollouts, scores: Scores) throws -> Rewards {
        let L = rollouts.length, T = Float(config.sampling.temperature)
        var old = [Float](), ref = [Float](), values = [Float](), fullKL = [Float]()
        var referenceStart = Date(), referenceSeconds = 0.0
        for start in stride(from: 0, to: rollouts.count, by: config.miniBatchSize) {
            let rows = Array(start..<min(rollouts.count, start + config.miniBatchSize))
            let s = SequenceBatch(rollouts, rows: rows, padId: padId)
            // The policy's and the reference's passes share buffers: what the first leaves is read before the second.
            let a = TrainingBuffers.fitting(&buffers, config: model.config, batchSize: s.batch.batchSize,
                                            length: s.batch.length).forward
            let policy = try model.policyForward(s.batch, targets: s.targets, temperature: T, entropies: false,
                                                 valueHead: trainable.valueHead, activations: a)
            var policyLogits: [Float] = []
            if config.klEstimator == .full { policyLogits = responseLogits(a, s) }
            referenceStart = Date()
            let reference = frozenReference ?? model
            let adapterWasOn = model.adapter?.enabled
            if frozenReference == nil { model.adapter?.enabled = false }
            defer { if let adapterWasOn { model.adapter?.enabled = adapterWasOn } }
            let refOut = try reference.policyForward(s.batch, targets: s.targets, temperature: T, entropies: false, activations: a)
            if let adapterWasOn { model.adapter?.enabled = adapterWasOn }
            old += s.gather(policy.logProbabilities, length: L)
            ref += s.gather(refOut.logProbabilities, length: L)
            values += s.gather(policy.values, length: L)
            if config.klEstimator == .full {
                let referenceLogits = responseLogits(a, s)
                let V = model.config.vocabSize
                var rowsKL = [Float](repeating: 0, count: rows.count * L)
                for (i, places) in s.flat.enumerated() {
                    for j in places.indices {
                        let k = (i * L + j) * V
                        rowsKL[i * L + j] = policyLogits.withUnsafeBufferPointer { p in
                            referenceLogits.withUnsafeBufferPointer { q in
                                PolicyOptimization.fullKL(policyLogits: p.baseAddress! + k, referenceLogits: q.baseAddress! + k, count: V)
                            }
                        }
                    }
                }
                fullKL += rowsKL
            }
            referenceSeconds += Date().timeIntervalSince(referenceStart)
        }
        referenceStart = Date()
        let mask = rollouts.mask
        var kl = config.klEstimator == .full ? fullKL : klPenalty(logProbabilities: old, reference: ref, estimator: config.klEstimator)
        for i in kl.indices where mask[i] == 0 { kl[i] = 0 }
        var s = [Float](repeating: 0, count: kl.count)
        for b in 0..<rollouts.count {
            let n = rollouts.responseIds[b].count
            guard n > 0 else { continue }
            let last = b * L + n - 1
            switch config.rewardMode {
            case .token:
                for j in 0..<n { s[b * L + j] = scores.tokenScores[b * L + j] }
                // A critique that did not parse quotes nothing: its configured score lands where a scalar would.
                if scores.critiques[b].record == nil { s[last] += Float(config.unparsedScore) }
            case .scalar:
                s[last] = Float(scores.sequenceScores[b])
            }
            if let penalty = config.missingEOSPenalty, !rollouts.endedWithEOS[b] { s[last] -= Float(penalty) }
        }
        let beta = Float(state.kl.value)
        let rewards = (0..<kl.count).map { mask[$0] > 0 ? s[$0] - beta * kl[$0] : 0 }
        let meanKL = Self.meanSequenceKL(kl, rows: rollouts.count, length: L)
        referenceSeconds += Date().timeIntervalSince(referenceStart)
        return Rewards(oldLogProbabilities: old, referenceLogProbabilities: ref, values: values, kl: kl, scores: s,
                       rewards: rewards, meanSequenceKL: meanKL, referenceSeconds: referenceSeconds)
    }

    /// The mean over rows of each row's summed per-token KL.
    static func meanSequenceKL(_ kl: [Float], rows: Int, length L: Int) -> Double {
        let sequenceKL = (0..<rows).map { b in (0..<L).reduce(0.0) { $0 + Double(kl[b * L + $1]) } }
        return sequenceKL.reduce(0, +) / Double(max(1, rows))
    }

    // MARK: Between phases 3 and 4: the replicas' rows put together

    /// The whole batch from every replica's rows (`rows`: this replica's places in it): each replica writes its
    /// rows into zeroed buffers of the batch's shape and the buffers are summed, which places every row exactly
    /// (x + 0 = x). The ids and per-row scores travel as doubles (exact for any vocabulary), the per-token
    /// figures as floats, in three sums per step (lengths first); every replica then rebuilds the same rollouts
    /// from the ids.
    func gather(_ batch: [PolicyPrompt], rows: [Int], _ mine: Rollouts, scores: Scores, rewards: Rewards,
                reducer: GradientReducer) -> (Rollouts, Scores, Rewards) {
        let B = batch.count, l = mine.length
        var lengths = [Double](repeating: 0, count: B)
        for (i, b) in rows.enumerated() { lengths[b] = Double(mine.responseIds[i].count) }
        reducer.sum(&lengths)
        let L = max(1, Int(lengths.max() ?? 1))
        // Ids (B·L), sequence scores (B), then the totals: unparsed, quoted, unmatched.
        var whole = [Double](repeating: 0, count: B * L + B + 3)
        for (i, b) in rows.enumerated() {
            for (j, id) in mine.responseIds[i].enumerated() { whole[b * L + j] = Double(id) }
            whole[B * L + b] = scores.sequenceScores[i]
        }
        whole[B * L + B] = Double(scores.unparsed)
        whole[B * L + B + 1] = Double(scores.quoted)
        whole[B * L + B + 2] = Double(scores.unmatched)
        reducer.sum(&whole)
        let ids = (0..<B).map { b in (0..<Int(lengths[b])).map { Int(whole[b * L + $0]) } }
        let rollouts = Rollouts(prompts: batch, responseIds: ids, tokenizer: tokenizer, endOfSequence: endOfSequence)
        let fields = [scores.tokenScores, rewards.oldLogProbabilities, rewards.referenceLogProbabilities, rewards.values,
                      rewards.kl, rewards.scores, rewards.rewards]
        var figures = [Float](repeating: 0, count: fields.count * B * L)
        for (f, field) in fields.enumerated() {
            for (i, b) in rows.enumerated() {
                for j in 0..<mine.responseIds[i].count { figures[(f * B + b) * L + j] = field[i * l + j] }
            }
        }
        figures.withUnsafeMutableBufferPointer { reducer.sum($0.baseAddress!, count: $0.count) }
        func field(_ f: Int) -> [Float] { Array(figures[(f * B * L)..<((f + 1) * B * L)]) }
        let gatheredScores = Scores(
            critiques: [], tokenScores: field(0), sequenceScores: Array(whole[(B * L)..<(B * L + B)]),
            unparsed: Int(whole[B * L + B]), quoted: Int(whole[B * L + B + 1]), unmatched: Int(whole[B * L + B + 2]),
            mask: rollouts.mask)
        let kl = field(4)
        let gatheredRewards = Rewards(
            oldLogProbabilities: field(1), referenceLogProbabilities: field(2), values: field(3), kl: kl, scores: field(5),
            rewards: field(6), meanSequenceKL: Self.meanSequenceKL(kl, rows: B, length: L))
        return (rollouts, gatheredScores, gatheredRewards)
    }

    /// The (rows.count, to) layout of some rows of a (B, from) array.
    func pickRows(_ x: [Float], rows: [Int], from L: Int, to l: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows.count * l)
        for (i, b) in rows.enumerated() {
            for j in 0..<min(l, L) { out[i * l + j] = x[b * L + j] }
        }
        return out
    }

    /// The (rows·L, V) logits at the temperature of the positions that predict response tokens.
    func responseLogits(_ a: LlamaActivations, _ s: SequenceBatch) -> [Float] {
        let V = model.config.vocabSize, L = s.flat.map(\.count).max() ?? 0, T = Float(config.sampling.temperature)
        var out = [Float](repeating: 0, count: s.flat.count * max(1, L) * V)
        let logits = a.logits!.data
        for (i, places) in s.flat.enumerated() {
            for (j, n) in places.enumerated() {
                guard let row = a.logitRow(ofPosition: n) else { preconditionFailure("no logits at position \(n)") }
                for v in 0..<V { out[(i * L + j) * V + v] = logits[row * V + v] / T }
            }
        }
        return out
    }

    // MARK: Phase 4: advantages

    public struct Advantages {
        public var advantages: [Float]
        public var returns: [Float]
    }

    public func advantages(_ rollouts: Rollouts, rewards: Rewards) -> Advantages {
        let (a, r) = generalizedAdvantages(rewards: rewards.rewards, values: rewards.values, mask: rollouts.mask,
                                           length: rollouts.length, gamma: config.gamma, lambda: config.lam)
        let whitened = config.whitenAdvantages ? maskedWhiten(a, rollouts.mask) : a
        return Advantages(advantages: zip(whitened, rollouts.mask).map { $1 > 0 ? $0 : 0 }, returns: r)
    }

    // MARK: Phase 5: optimize

    public struct OptimizeStats {
        public var policyLoss: [Double] = [], valueLoss: [Double] = [], clipFraction: [Double] = []
        public var valueClipFraction: [Double] = [], approximateKL: [Double] = [], ratio: [Double] = []
        public var entropy: [Double] = [], skipped = 0, gradientNorm: [Double] = []
    }

    /// `ppo_epochs` passes over the rollouts in shuffled mini-batches, one update each: clipped policy loss +
    /// vf_coef · clipped value loss − entropy_coef · entropy, through the adapter (or every weight) and the value head.
    /// Each replica runs its share of every mini-batch's rows; the losses are normalised by the whole
    /// mini-batch's token count and their figures summed, so every replica takes the same decisions (the ratio
    /// threshold, a non-finite loss) and the summed gradients are the one-process ones.
    public func optimize(
        _ context: StepContext, _ rollouts: Rollouts, rewards: Rewards, advantages: Advantages, rng: inout SplitMix64
    ) throws -> OptimizeStats {
        var stats = OptimizeStats()
        let reducer = context.reducer
        let L = rollouts.length, T = Float(config.sampling.temperature)
        for _ in 0..<config.ppoEpochs {
            let order = Array(0..<rollouts.count).shuffled(using: &rng)
            for start in stride(from: 0, to: order.count, by: config.miniBatchSize) {
                let miniBatch = Array(order[start..<min(order.count, start + config.miniBatchSize)])
                let n = Float(max(1, miniBatch.reduce(0) { $0 + rollouts.responseIds[$1].count }))
                let rows = reducer.shard(miniBatch)
                let dropoutSeed = rng.next() &+ UInt64(reducer.rank) &* 0x9E37_79B9_7F4A_7C15
                func pick(_ x: [Float]) -> [Float] { rows.flatMap { Array(x[($0 * L)..<($0 * L + L)]) } }
                let mask = pick(rollouts.mask)
                // This replica's share of: policy loss, value loss, clip fraction, value clip fraction, approx KL,
                // mean ratio, mean entropy.
                var figures = [Double](repeating: 0, count: 7)
                var pass: (s: SequenceBatch, buffers: TrainingBuffers, policy: ClippedPolicyLoss, value: ClippedValueLoss)?
                if !rows.isEmpty {
                    let s = SequenceBatch(rollouts, rows: rows, padId: padId)
                    let buffers = TrainingBuffers.fitting(&self.buffers, config: model.config,
                                                          batchSize: s.batch.batchSize, length: s.batch.length)
                    model.adapter?.dropoutSeed = dropoutSeed
                    let out = try model.policyForward(s.batch, targets: s.targets, temperature: T, entropies: true,
                                                      valueHead: trainable.valueHead, activations: buffers.forward)
                    let logp = s.gather(out.logProbabilities, length: L), values = s.gather(out.values, length: L)
                    let entropy = s.gather(out.entropies, length: L)
                    let policy = ClippedPolicyLoss(logProbabilities: logp, old: pick(rewards.oldLogProbabilities),
                                                   advantages: pick(advantages.advantages), mask: mask, clip: config.cliprange,
                                                   logRatioClamp: config.logRatioClamp, normalizer: n)
                    let value = ClippedValueLoss(values: values, oldValues: pick(rewards.values), returns: pick(advantages.returns),
                                                 mask: mask, clip: config.cliprangeValue, normalizer: n)
                    figures = [policy.loss, value.loss, policy.clipFraction, value.clipFraction, policy.approximateKL,
                               policy.meanRatio, zip(entropy, mask).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / Double(n)]
                    pass = (s, buffers, policy, value)
                }
                defer { model.adapter?.dropoutSeed = nil }
                reducer.sum(&figures)
                let meanEntropy = figures[6]
                let loss = figures[0] + config.vfCoef * figures[1] - config.entropyCoef * meanEntropy
                try context.check("loss", loss)
                stats.ratio.append(figures[5])
                guard figures[5] <= config.ratioThreshold else { stats.skipped += 1; continue }
                context.zeroGradients()
                if let pass {
                    let (s, buffers, policy, value) = pass
                    let entropyGradient = config.entropyCoef > 0
                        ? s.scatter(mask.map { -Float(config.entropyCoef) * $0 / n }, length: L) : nil
                    model.policyBackward(
                        s.batch, targets: s.targets, temperature: T, logProbabilityGradients: s.scatter(policy.gradient, length: L),
                        entropyGradients: entropyGradient,
                        valueGradients: s.scatter(value.gradient.map { $0 * Float(config.vfCoef) }, length: L),
                        valueHead: trainable.valueHead, valueHeadGradients: trainable.valueHeadGradients,
                        activations: buffers.forward, gradients: trainable.weightGradients,
                        adapterGradients: trainable.adapterGradients, buffers: buffers.backward)
                }
                stats.gradientNorm.append(try context.update())
                stats.policyLoss.append(figures[0])
                stats.valueLoss.append(figures[1])
                stats.clipFraction.append(figures[2])
                stats.valueClipFraction.append(figures[3])
                stats.approximateKL.append(figures[4])
                stats.entropy.append(meanEntropy)
            }
        }
        return stats
    }

    // MARK: Phase 6: log

    /// The step's figures under TRL's names plus Text2Grad's.
    public func log(
        _ rollouts: Rollouts, scores: Scores, rewards: Rewards, advantages: Advantages, stats: OptimizeStats
    ) -> [String: Double] {
        let B = Double(max(1, rollouts.count)), L = rollouts.length, mask = rollouts.mask
        func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }
        func rowSum(_ x: [Float]) -> Double { x.enumerated().reduce(0.0) { $0 + (mask[$1.offset] > 0 ? Double($1.element) : 0) } }
        let beta = state.kl.value
        let nonScore = -beta * rowSum(rewards.kl) / B
        let tokens = mask.reduce(0, +)
        var record: [String: Double] = [
            "objective/kl": rewards.meanSequenceKL,
            "objective/entropy": -rowSum(rewards.oldLogProbabilities) / B,
            "objective/non_score_reward": nonScore,
            "objective/scores": scores.sequenceScores.reduce(0, +) / B,
            "objective/token_scores": rowSum(rewards.scores) / B,
            "objective/rlhf_reward": rowSum(rewards.scores) / B + nonScore,
            "policy/approxkl_avg": mean(stats.approximateKL), "policy/clipfrac_avg": mean(stats.clipFraction),
            "policy/entropy_avg": mean(stats.entropy),
            "loss/policy_avg": mean(stats.policyLoss), "loss/value_avg": mean(stats.valueLoss),
            "val/clipfrac_avg": mean(stats.valueClipFraction), "val/ratio": mean(stats.ratio),
            "val/var_explained": explainedVariance(values: rewards.values, returns: advantages.returns, mask: mask),
            "val/num_eos_tokens": Double(rollouts.endedWithEOS.filter { $0 }.count),
            "val/skipped_minibatches": Double(stats.skipped),
            "returns/mean": maskedMean(advantages.returns, mask), "advantages/mean": maskedMean(advantages.advantages, mask),
            "kl_coef": beta, "grad_norm": mean(stats.gradientNorm),
            "span/pos_frac": scores.positiveFraction, "span/neg_frac": scores.negativeFraction,
            "span/unmatched_rate": scores.unmatchedRate, "rm/parse_failures": Double(scores.unparsed),
            "tokens": Double(tokens), "response_length": Double(tokens) / B,
        ]
        if let taskMetric {
            let values = (0..<rollouts.count).compactMap { taskMetric(rollouts.prompts[$0], rollouts.responses[$0]) }
            if !values.isEmpty { record["objective/task_metric"] = values.reduce(0, +) / Double(values.count) }
        }
        _ = L
        return record
    }

    /// A few rollouts with the critique and, per token, its text, score, KL, reward, advantage and value.
    func writeSamples(
        _ writer: StepFile, step: Int, _ rollouts: Rollouts, scores: Scores, rewards: Rewards, advantages: Advantages
    ) throws {
        let L = rollouts.length
        for b in 0..<min(config.samplesPerStep, rollouts.count) {
            try writer.append(sampleLine(b, step: step, rollouts, scores: scores) { j in
                let i = b * L + j
                return [("score", JSONValue(Double(rewards.scores[i]))),
                        ("span_score", JSONValue(Double(scores.tokenScores[i]))),
                        ("kl", JSONValue(Double(rewards.kl[i]))), ("reward", JSONValue(Double(rewards.rewards[i]))),
                        ("advantage", JSONValue(Double(advantages.advantages[i]))),
                        ("value", JSONValue(Double(rewards.values[i])))]
            })
        }
    }

    /// Rollout `b` as a samples.jsonl line: prompt, response, critique or its failure, the task metric, and per
    /// token its id, text and `figures(j)`.
    func sampleLine(
        _ b: Int, step: Int, _ rollouts: Rollouts, scores: Scores,
        figures: (Int) -> [(key: String, value: JSONValue)]
    ) -> JSONValue {
        let scalars = Array(rollouts.responses[b].unicodeScalars)
        let tokens: [JSONValue] = rollouts.responseIds[b].indices.map { j in
            let r = rollouts.offsets[b][j]
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars[r.clamped(to: 0..<scalars.count)])
            let id = JSONValue(rollouts.responseIds[b][j])
            return .object(figures(j) + [("id", id), ("text", JSONValue(String(text)))])
        }
        var line: JSONValue = [
            "step": JSONValue(step), "id": JSONValue(rollouts.prompts[b].id),
            "prompt": JSONValue(rollouts.prompts[b].text),
            "response": JSONValue(rollouts.responses[b]), "tokens": .array(tokens),
            "sequence_score": JSONValue(scores.sequenceScores[b]), "mode": JSONValue(config.rewardMode.rawValue),
        ]
        switch scores.critiques[b] {
        case .record(let record):
            line["critique"] = JSONValue(record.critique)
            line["spans"] = .array(record.spans.map { s in
                ["text": JSONValue(s.text), "label": JSONValue(s.label), "score": JSONValue(s.score),
                 "start": JSONValue(s.start), "end": JSONValue(s.end), "match": JSONValue(s.match.rawValue)]
            })
        case let .failure(_, raw, problem):
            line["critique_failure"] = JSONValue(problem)
            line["raw"] = JSONValue(raw)
        }
        if let taskMetric, let value = taskMetric(rollouts.prompts[b], rollouts.responses[b]) {
            line["task_metric"] = JSONValue(value)
        }
        return line
    }

    // MARK: Evaluation

    /// Responses to the held-out prompts, decoded as the rollouts are (temperature, top-p/k, minimum and maximum
    /// length; greedy with `eval_greedy`) with one fixed seed per held-out prompt, the same at every evaluation and
    /// in every run, so runs are compared on the same draws: mean sequence score from the critic (`eval/score`),
    /// parse failures, and the task's metric (`eval/task_metric`).
    /// Each replica answers every `worldSize`-th batch of the held-out prompts.
    /// The first held-out response of each evaluation goes to samples.jsonl (`split: eval`, its span scores as
    /// rewards), so a report shows one prompt before and after training.
    public func evaluate(_ reducer: GradientReducer, step: Int) throws -> [String: Double] {
        guard !evalPrompts.isEmpty else { return [:] }
        // Score total, parse failures, task-metric total and count.
        var totals = [0.0, 0.0, 0.0, 0.0]
        let batchSize = config.loop.batchSize
        for (k, start) in stride(from: 0, to: evalPrompts.count, by: batchSize).enumerated() where reducer.owns(k) {
            let batch = Array(evalPrompts[start..<min(evalPrompts.count, start + batchSize)])
            let rollouts = try rollout(batch, seed: Self.evaluationSeed, greedy: config.evalGreedy,
                                       rows: Array(start..<(start + batch.count)))
            // Without `eval_critique`, only the first response (the one logged) is critiqued.
            let first = { Rollouts(prompts: Array(rollouts.prompts.prefix(1)), responseIds: Array(rollouts.responseIds.prefix(1)),
                                   tokenizer: self.tokenizer, endOfSequence: self.endOfSequence) }
            let critiqued = config.evalCritique ? rollouts : (start == 0 ? first() : nil)
            let scores = try critiqued.map(score)
            if start == 0, let samples, let scores {
                var line = sampleLine(0, step: step, rollouts, scores: scores) { j in
                    let score = Double(scores.tokenScores[j])
                    return [("score", JSONValue(score)), ("span_score", JSONValue(score)), ("reward", JSONValue(score))]
                }
                line["split"] = "eval"
                try samples.append(line)
            }
            if config.evalCritique, let scores {
                totals[0] += scores.sequenceScores.reduce(0, +)
                totals[1] += Double(scores.unparsed)
            }
            if let taskMetric {
                let values = (0..<rollouts.count).compactMap { taskMetric(rollouts.prompts[$0], rollouts.responses[$0]) }
                totals[2] += values.reduce(0, +)
                totals[3] += Double(values.count)
            }
        }
        reducer.sum(&totals)
        var record = config.evalCritique
            ? ["eval/score": totals[0] / Double(evalPrompts.count), "eval/parse_failures": totals[1]] : [:]
        if totals[3] > 0 { record["eval/task_metric"] = totals[2] / totals[3] }
        return record
    }

    /// The sampling seed of held-out evaluation (each prompt's own derives from it and the prompt's place).
    public static let evaluationSeed: UInt64 = 0xE7A1_5EED

    /// The sampling seed of the prompt at place `row` of a batch drawn with `seed`.
    public static func sampleSeed(_ seed: UInt64, row: Int) -> UInt64 {
        seed &+ UInt64(row) &* 0x9E37_79B9_7F4A_7C15
    }

    public func progressDetail(_ m: [String: Double]) -> String {
        var text = String(format: "score %.3f  kl %.3f  β %.3f", m["objective/scores"] ?? .nan, m["objective/kl"] ?? .nan,
                          m["kl_coef"] ?? .nan)
        if let task = m["objective/task_metric"] { text += String(format: "  task %.3f", task) }
        if let seconds = m["seconds"] { text += String(format: "  %.1f s/step", seconds) }
        if let eval = m["eval/task_metric"] { text += String(format: "  eval-task %.3f", eval) }
        return text
    }
}
