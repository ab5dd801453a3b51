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

    /// Generates every request as one batch. `onToken(sequence, event)` sees each token as it comes and
    /// may return false to stop that sequence (finish reason `cancelled`).
    public func generate(
        _ requests: [GenerationRequest], onToken: ((Int, TokenEvent) -> Bool)? = nil
    ) throws -> [GeneratedSequence] {
        guard !requests.isEmpty else { return [] }
        var prompts: [[Int]] = []
        for (i, request) in requests.enumerated() {
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
            prompts.append(prompt)
        }
        let B = requests.count
        let maxNew = requests.map(\.parameters.maxNewTokens).max()!
        let capacity = prompts.map(\.count).max()! + max(maxNew, 1)
        let limit = model.config.maxPositionEmbeddings
        for (i, prompt) in prompts.enumerated() where prompt.count + requests[i].parameters.maxNewTokens > limit {
            throw GenerationError.contextTooLong(sequence: i, promptTokens: prompt.count,
                                                 maxNewTokens: requests[i].parameters.maxNewTokens, limit: limit)
        }
        let cache = KVCache(config: model.config, batchSize: B, capacity: capacity, maxStepTokens: prefillChunk)
        try model.prefill(TokenBatch(sequences: prompts, padding: .left, padId: 0), cache: cache)

        var rows = (0..<B).map { b in
            Row(prompt: prompts[b], parameters: requests[b].parameters, vocabSize: model.config.vocabSize,
                stopIds: endOfSequenceIds.union(requests[b].parameters.stopTokenIds), tokenizer: tokenizer,
                tokenTexts: requests[b].parameters.jsonObject ? tokenTexts : nil)
        }
        let V = model.config.vocabSize
        // inCache[i]: the request whose sequence is row i of the cache.
        var inCache = Array(0..<B)
        while true {
            for (i, b) in inCache.enumerated() where rows[b].finish == nil {
                let event = rows[b].step(logits: cache.logits.data + i * V)
                if let onToken, !onToken(b, event) { rows[b].finish = .cancelled }
            }
            let running = inCache.indices.filter { rows[inCache[$0]].finish == nil }
            guard !running.isEmpty else { break }
            // Finished sequences leave the cache, so the steps left cost only what still runs.
            if compactsFinishedRows, running.count < inCache.count {
                cache.keepRows(running)
                inCache = running.map { inCache[$0] }
            }
            let ids = inCache.map { b in rows[b].finish == nil ? Int32(rows[b].tokens.last!.id) : 0 }
            let mask = inCache.map { b -> Float in rows[b].finish == nil ? 1 : 0 }
            try model.decodeStep(ids: ids, mask: mask, tokens: 1, cache: cache)
        }
        return rows.map { row in
            GeneratedSequence(
                promptTokens: row.promptCount, tokenIds: row.tokens.map(\.id), logprobs: row.tokens.map(\.logprob),
                topLogprobs: row.top, text: row.text, finishReason: row.finish ?? .length)
        }
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
