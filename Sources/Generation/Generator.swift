import Common
import Foundation
import Models
import Tensor
import Tokenizers

/// One prompt to continue and how.
public struct GenerationRequest: Sendable {
    public var promptIds: [Int]
    public var parameters: SamplingParameters

    public init(promptIds: [Int], parameters: SamplingParameters = SamplingParameters()) {
        self.promptIds = promptIds
        self.parameters = parameters
    }
}

/// Why a sequence ended.
public enum FinishReason: String, Sendable, Equatable {
    /// A stop token or stop string.
    case stop
    /// `maxNewTokens` reached.
    case length
    /// The caller asked to stop (e.g. a client went away).
    case cancelled
}

/// What one new token adds to a sequence, as the generator reports it while running.
public struct TokenEvent: Sendable {
    public var token: TokenLogprob
    public var top: [TokenLogprob]
    /// Text that became final with this token (empty while held back by the decoder or a stop string).
    public var text: String
    /// Set on the sequence's last event.
    public var finishReason: FinishReason?
}

/// A finished sequence.
public struct GeneratedSequence: Sendable {
    public var promptTokens: Int
    /// New token ids, including a stop token that ended the sequence.
    public var tokenIds: [Int]
    /// log p(token) of each new token under the model.
    public var logprobs: [Float]
    public var topLogprobs: [[TokenLogprob]]
    /// The decoded text without special tokens, cut before a stop string (empty without a tokenizer).
    public var text: String
    public var finishReason: FinishReason
}

/// Batched, KV-cached generation: prompts of different lengths are left-padded into one batch, each
/// sequence samples with its own parameters and stops on its own.
// Unchecked Sendable: one generation at a time, on the thread that calls it.
public final class Generator: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: Tokenizer?
    /// Ids that end every sequence: the model's and the tokenizer's end-of-sequence tokens.
    public let endOfSequenceIds: Set<Int>
    /// Prompt tokens fed per prefill step.
    public var prefillChunk = 64
    /// Whether sequences that finish leave the KV cache, so the rest of the batch decodes as a smaller one
    /// (off: every step computes the whole batch, finished rows masked).
    public var compactsFinishedRows = true

    /// A generator; without a tokenizer there is no text, and stop strings are refused.
    public init(model: LlamaModel, tokenizer: Tokenizer? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        endOfSequenceIds = Set(model.config.eosTokenIds + (tokenizer?.eosTokenIds ?? []))
    }

    /// Each id's text alone, nil for special tokens and pieces of a UTF-8 character (JSON mode never draws those).
    public private(set) lazy var tokenTexts: [String?] = (0..<model.config.vocabSize).map { id in
        guard let tokenizer, id < tokenizer.vocabSize, !(tokenizer.specialTokens.contains { $0.id == id }) else { return nil }
        let text = tokenizer.decode([id], skipSpecialTokens: true)
        return text.isEmpty || text.contains("\u{FFFD}") ? nil : text
    }

    /// The prompt a request starts from (its ids, or BOS for an empty one), after checking its parameters,
    /// its ids and its length against the model; `index` names it in errors.
    public func validatedPrompt(_ request: GenerationRequest, index i: Int) throws -> [Int] {
        try request.parameters.validate()
        if !request.parameters.stopStrings.isEmpty && tokenizer == nil { throw GenerationError.needsTokenizer("stop strings") }
        if request.parameters.jsonObject && tokenizer == nil { throw GenerationError.needsTokenizer("JSON mode") }
        var prompt = request.promptIds
        if prompt.isEmpty {
            guard let bos = tokenizer?.bosTokenId ?? model.config.bosTokenId else { throw GenerationError.emptyPrompt(sequence: i) }
            prompt = [bos]
        }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
            throw GenerationError.invalidParameter("prompt \(i): token id \(bad) is outside the vocabulary of \(model.config.vocabSize)")
        }
        let limit = model.config.maxPositionEmbeddings
        if prompt.count + request.parameters.maxNewTokens > limit {
            throw GenerationError.contextTooLong(sequence: i, promptTokens: prompt.count,
                                                 maxNewTokens: request.parameters.maxNewTokens, limit: limit)
        }
        return prompt
    }

    /// Generates every request as one batch. `onToken(sequence, event)` sees each token as it comes and
    /// may return false to stop that sequence (finish reason `cancelled`); `onFinish(sequence, result)` gets each
    /// sequence's result as soon as it ends, while the others go on (the returned array holds them all too).
    ///
    /// Continuous batching: before every decode step, `admit(running)` (when given) is asked for requests to
    /// join the batch, `running` being the sequences still generating. Joining prompts are prefilled on their
    /// own, then enter the KV cache beside the running sequences (`KVCache.admitting`), so a waiting request
    /// starts at the next step instead of after the whole batch. They are numbered after the initial requests,
    /// in the order they joined, in `onToken` and in the result; they must have passed `validatedPrompt`.
    public func generate(
        _ requests: [GenerationRequest], admit: ((_ running: Int) -> [GenerationRequest])? = nil,
        onFinish: ((Int, GeneratedSequence) -> Void)? = nil, onToken: ((Int, TokenEvent) -> Bool)? = nil
    ) throws -> [GeneratedSequence] {
        guard !requests.isEmpty else { return [] }
        let prompts = try requests.enumerated().map { try validatedPrompt($1, index: $0) }
        let B = requests.count
        let maxNew = requests.map(\.parameters.maxNewTokens).max()!
        var cache = KVCache(config: model.config, batchSize: B, capacity: prompts.map(\.count).max()! + max(maxNew, 1),
                            maxStepTokens: prefillChunk)
        try model.prefill(TokenBatch(sequences: prompts, padding: .left, padId: 0), cache: cache)

        var rows = zip(prompts, requests).map { row($0, $1.parameters) }
        let V = model.config.vocabSize
        // inCache[i]: the request whose sequence is row i of the cache.
        var inCache = Array(0..<B)
        func running() -> [Int] { inCache.indices.filter { rows[inCache[$0]].finish == nil } }
        // Finished sequences leave the cache, so the steps left cost only what still runs; while sequences keep
        // joining, the padding that lined them up with ones that have left goes too.
        func compact() {
            let keep = running()
            guard compactsFinishedRows, !keep.isEmpty, keep.count < inCache.count else { return }
            cache.keepRows(keep)
            inCache = keep.map { inCache[$0] }
            if admit != nil { cache.trimLeadingPadding() }
        }
        func sample(_ row: Int, _ logits: UnsafePointer<Float>) {
            let event = rows[row].step(logits: logits)
            if let onToken, !onToken(row, event) { rows[row].finish = .cancelled }
        }
        var finishedReported: Set<Int> = []
        func reportFinished() {
            guard let onFinish else { return }
            for b in rows.indices where rows[b].finish != nil && !finishedReported.contains(b) {
                finishedReported.insert(b)
                onFinish(b, rows[b].result)
            }
        }
        while true {
            for (i, b) in inCache.enumerated() where rows[b].finish == nil { sample(b, cache.logits.data + i * V) }
            reportFinished()
            compact()
            if let admit {
                let joining = admit(running().count)
                if !joining.isEmpty {
                    if running().isEmpty {
                        cache.keepRows([])
                        inCache = []
                    }
                    let first = rows.count
                    let (joined, firstLogits) = try join(joining, into: cache, rows: &rows, running: inCache.filter { rows[$0].finish == nil })
                    cache = joined
                    // Their first tokens come from their own prefill.
                    for j in joining.indices {
                        inCache.append(first + j)
                        sample(first + j, firstLogits.data + j * V)
                    }
                    reportFinished()
                    compact()
                }
            }
            guard !running().isEmpty else { break }
            let ids = inCache.map { b in rows[b].finish == nil ? Int32(rows[b].tokens.last!.id) : 0 }
            let mask = inCache.map { b -> Float in rows[b].finish == nil ? 1 : 0 }
            try model.decodeStep(ids: ids, mask: mask, tokens: 1, cache: cache)
        }
        return rows.map(\.result)
    }

    /// The per-sequence state of a request.
    private func row(_ prompt: [Int], _ parameters: SamplingParameters) -> Row {
        Row(prompt: prompt, parameters: parameters, vocabSize: model.config.vocabSize,
            stopIds: endOfSequenceIds.union(parameters.stopTokenIds), tokenizer: tokenizer,
            tokenTexts: parameters.jsonObject ? tokenTexts : nil)
    }

    /// Prefills `joining` in a cache of their own and admits them into `cache` beside the `running` requests'
    /// rows; appends their rows to `rows`. Returns the cache to go on with and the new sequences' first logits.
    private func join(
        _ joining: [GenerationRequest], into cache: KVCache, rows: inout [Row], running: [Int]
    ) throws -> (KVCache, Tensor) {
        let prompts = try joining.enumerated().map { try validatedPrompt($1, index: rows.count + $0) }
        let longest = prompts.map(\.count).max()!
        let own = KVCache(config: model.config, batchSize: joining.count, capacity: longest, maxStepTokens: prefillChunk)
        try model.prefill(TokenBatch(sequences: prompts, padding: .left, padId: 0), cache: own)
        rows += zip(prompts, joining).map { row($0, $1.parameters) }
        // Slots needed: the aligned length, then one per decode step the longest remaining sequence may still take.
        let length = max(cache.length, own.length)
        let steps = (running.map { rows[$0].parameters.maxNewTokens - rows[$0].tokens.count }
            + joining.map(\.parameters.maxNewTokens)).max() ?? 1
        return (cache.admitting(own, capacity: length + max(steps, 1)), own.logits)
    }
}

/// The state of one sequence while the batch runs.
private struct Row {
    let promptCount: Int
    let parameters: SamplingParameters
    let stopIds: Set<Int>
    var sampler: Sampler
    var history: Set<Int>
    var tokens: [TokenLogprob] = []
    var top: [[TokenLogprob]] = []
    var decoder: IncrementalDecoder?
    var stops: StopStringMatcher
    /// JSON mode: the output so far as a JSON prefix, and every token's text.
    var json: JSONPrefix?
    let tokenTexts: [String?]?
    var text = ""
    var finish: FinishReason?

    init(prompt: [Int], parameters: SamplingParameters, vocabSize: Int, stopIds: Set<Int>, tokenizer: Tokenizer?, tokenTexts: [String?]?) {
        self.tokenTexts = tokenTexts
        json = tokenTexts == nil ? nil : JSONPrefix(quotes: parameters.jsonQuotes)
        promptCount = prompt.count
        self.parameters = parameters
        self.stopIds = stopIds
        sampler = Sampler(parameters: parameters, vocabSize: vocabSize)
        history = Set(prompt)
        decoder = tokenizer.map { IncrementalDecoder(tokenizer: $0, skipSpecialTokens: true) }
        stops = StopStringMatcher(stops: parameters.stopStrings)
        if parameters.maxNewTokens == 0 { finish = .length }
    }

    /// What the sequence has generated (finish reason `length` while it runs).
    var result: GeneratedSequence {
        GeneratedSequence(
            promptTokens: promptCount, tokenIds: tokens.map(\.id), logprobs: tokens.map(\.logprob),
            topLogprobs: top, text: text, finishReason: finish ?? .length)
    }

    /// Samples one token from `logits`, updates text and stop state, and describes what happened.
    mutating func step(logits: UnsafePointer<Float>) -> TokenEvent {
        let constrain: ((UnsafeMutablePointer<Float>) -> Void)?
        if let json, let tokenTexts {
            constrain = { x in
                // Every token whose text breaks the JSON prefix is forbidden, stop tokens included.
                for (id, text) in tokenTexts.enumerated() {
                    var probe = json
                    if text == nil || !probe.feed(text!) { x[id] = -.infinity }
                }
            }
        } else {
            constrain = nil
        }
        let (token, alternatives) = sampler.next(
            logits: logits, history: history, generated: tokens.count, stopIds: stopIds, constrain: constrain)
        if json != nil, let text = tokenTexts?[token.id] { _ = json!.feed(text) }
        tokens.append(token)
        top.append(alternatives)
        history.insert(token.id)
        var delta = decoder?.append(token.id) ?? ""
        let minimumReached = tokens.count >= parameters.minNewTokens
        if (stopIds.contains(token.id) && minimumReached) || json?.isComplete == true {
            finish = .stop
        } else if tokens.count >= parameters.maxNewTokens {
            finish = .length
        }
        if finish != nil { delta += decoder?.finish() ?? "" }
        var emitted = minimumReached || parameters.stopStrings.isEmpty ? stops.append(delta) : delta
        if stops.stopped {
            finish = .stop
        } else if finish != nil {
            emitted += stops.finish()
        }
        text += emitted
        return TokenEvent(token: token, top: alternatives, text: emitted, finishReason: finish)
    }
}

extension Tokenizer {
    /// Prompt ids for a conversation: the chat template with the assistant's generation prompt, encoded
    /// without adding special tokens again (as `apply_chat_template(tokenize=True)`).
    public func chatPromptIds(_ messages: [ChatMessage]) throws -> [Int] {
        encodeIds(try applyChatTemplate(messages: messages, addGenerationPrompt: true), addSpecialTokens: false)
    }
}
