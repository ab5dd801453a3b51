import Models
import Tensor

/// How one sequence picks its tokens and when it stops. Defaults match transformers' `generate` with
/// sampling off, except `maxNewTokens`.
public struct SamplingParameters: Sendable, Equatable {
    /// Softmax temperature; 0 picks the most likely token (greedy).
    public var temperature: Float = 0
    /// Keep only the k most likely tokens (0: all).
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: all).
    public var topP: Float = 1
    /// Penalty > 1 makes tokens already in the prompt or output less likely (CTRL / transformers rule).
    public var repetitionPenalty: Float = 1
    /// Seed of the sampling generator: the same seed gives the same tokens (nil: a random seed).
    public var seed: UInt64?
    /// Stop after this many new tokens.
    public var maxNewTokens: Int = 128
    /// Stop tokens and stop strings are ignored before this many new tokens.
    public var minNewTokens: Int = 0
    /// Token ids that end the sequence (added to the model's end-of-sequence ids). The stop token is kept.
    public var stopTokenIds: [Int] = []
    /// Texts that end the sequence; the text is cut before the first one.
    public var stopStrings: [String] = []
    /// How many most likely alternatives to report with each token's log-probability.
    public var topLogprobs: Int = 0
    /// Only draw tokens that keep the text a prefix of one JSON object, and stop when it closes
    /// (`response_format: json_object`; needs a tokenizer).
    public var jsonObject = false
    /// With `jsonObject`: the quotes under these keys must be substrings of a text (a reward model's quotes of the
    /// response it critiques).
    public var jsonQuotes: JSONPrefix.QuoteRule?

    public init() {}

    /// Throws when a value is out of range.
    public func validate() throws {
        func bad(_ reason: String) -> GenerationError { .invalidParameter(reason) }
        guard temperature >= 0, temperature.isFinite else { throw bad("temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw bad("top_k must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw bad("top_p must be in (0, 1], got \(topP)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else { throw bad("repetition_penalty must be > 0") }
        guard maxNewTokens >= 0 else { throw bad("max new tokens must be ≥ 0, got \(maxNewTokens)") }
        guard minNewTokens >= 0, minNewTokens <= maxNewTokens else { throw bad("min new tokens must be in 0...max") }
        guard topLogprobs >= 0, topLogprobs <= 20 else { throw bad("top_logprobs must be in 0...20, got \(topLogprobs)") }
        guard !stopStrings.contains("") else { throw bad("empty stop string") }
    }
}

/// A token with its log-probability under the model (raw logits, before temperature and filtering).
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int
    public var logprob: Float

    public init(id: Int, logprob: Float) {
        self.id = id
        self.logprob = logprob
    }
}

/// Picks the next token of one sequence from its logits.
///
/// Order of operations (as transformers' logits processors): repetition penalty → suppress stop tokens
/// before `minNewTokens` → the constraint, when given → greedy argmax, or temperature → top-k → top-p → draw.
/// The reported log-probability is the raw model's, before all of these (what OpenAI's `logprobs` report; PPO
/// does not use it: it scores the rollout again with a forward pass).
public struct Sampler {
    public let parameters: SamplingParameters
    private var rng: SplitMix64
    private let work: Scratch
    private var candidates: [Int] = []

    /// A sampler for a vocabulary of `vocabSize`, seeded from the parameters (or randomly).
    public init(parameters: SamplingParameters, vocabSize: Int) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
        work = Scratch(count: vocabSize)
    }

    /// The next token given `logits` (V), the ids seen so far (`history`, for the repetition penalty),
    /// how many tokens were generated already, and the ids that would stop the sequence.
    /// `constrain`, when given, may set logits of forbidden tokens to −∞ (after the penalties).
    public mutating func next(
        logits: UnsafePointer<Float>, history: Set<Int>, generated: Int, stopIds: Set<Int>,
        constrain: ((UnsafeMutablePointer<Float>) -> Void)? = nil
    ) -> (token: TokenLogprob, top: [TokenLogprob]) {
        let V = work.count
        let p = parameters
        let lse = logSumExp(logits, V)
        let token: Int = {
            let x = work.data
            x.update(from: logits, count: V)
            if p.repetitionPenalty != 1 {
                for id in history where id >= 0 && id < V {
                    x[id] = x[id] > 0 ? x[id] / p.repetitionPenalty : x[id] * p.repetitionPenalty
                }
            }
            if generated < p.minNewTokens {
                for id in stopIds where id >= 0 && id < V { x[id] = -.infinity }
            }
            constrain?(x)
            if p.temperature == 0 { return argmax(x, V) }
            return draw(x, V)
        }()
        let top = p.topLogprobs > 0 ? Self.top(p.topLogprobs, of: logits, count: V).map { TokenLogprob(id: $0, logprob: logits[$0] - lse) } : []
        return (TokenLogprob(id: token, logprob: logits[token] - lse), top)
    }

    private func argmax(_ x: UnsafePointer<Float>, _ V: Int) -> Int {
        var best = 0
        for i in 1..<V where x[i] > x[best] { best = i }
        return best
    }

    /// Temperature, top-k, top-p, then one draw from what is left.
    private mutating func draw(_ x: UnsafeMutablePointer<Float>, _ V: Int) -> Int {
        let p = parameters
        let m = maxOf(x, V)
        // Unnormalised probabilities e^((x − max) / temperature).
        let inverse = 1 / p.temperature
        var total: Float = 0
        for i in 0..<V {
            let e = x[i] == -.infinity ? 0 : fastExp((x[i] - m) * inverse)
            x[i] = e
            total += e
        }
        candidates.removeAll(keepingCapacity: true)
        if p.topK > 0 && p.topK < V {
            candidates = Self.top(p.topK, of: UnsafePointer(x), count: V)
        } else if p.topP < 1 {
            // The nucleus lies among the tokens above a threshold as soon as those reach the mass p; lower the
            // threshold until they do, so only a few hundred tokens are sorted instead of the vocabulary.
            var threshold = total * 1e-3
            while true {
                candidates.removeAll(keepingCapacity: true)
                var mass: Float = 0
                for i in 0..<V where x[i] >= threshold { candidates.append(i); mass += x[i] }
                if mass >= p.topP * total || threshold < total * 1e-12 { break }
                threshold /= 16
            }
            candidates.sort { x[$0] > x[$1] }
        } else {
            return sample(from: 0..<V, weights: x, total: total)
        }
        if p.topP < 1 {
            let mass = candidates.reduce(Float(0)) { $0 + x[$1] }
            var kept = 0, cumulative: Float = 0
            while kept < candidates.count {
                cumulative += x[candidates[kept]]
                kept += 1
                if cumulative >= p.topP * mass { break }
            }
            candidates.removeLast(candidates.count - kept)
        }
        let mass = candidates.reduce(Float(0)) { $0 + x[$1] }
        return sample(from: candidates, weights: x, total: mass)
    }

    private mutating func sample<C: Collection>(from ids: C, weights x: UnsafePointer<Float>, total: Float) -> Int where C.Element == Int {
        var target = rng.nextUniform() * total
        var last = ids.first!
        for id in ids where x[id] > 0 {
            last = id
            target -= x[id]
            if target < 0 { return id }
        }
        return last
    }

    /// The ids of the k largest values, largest first (ties: lower id first).
    static func top(_ k: Int, of x: UnsafePointer<Float>, count V: Int) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in 0..<V {
            if best.count == k, let last = best.last, !(x[i] > x[last]) { continue }
            var position = best.count
            while position > 0 && x[i] > x[best[position - 1]] { position -= 1 }
            best.insert(i, at: position)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}

/// A buffer of V floats a sampler reworks the logits in, allocated once per sequence.
private final class Scratch {
    let count: Int
    let data: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        data = .allocate(capacity: count)
        data.initialize(repeating: 0, count: count)
    }

    deinit { data.deallocate() }
}
