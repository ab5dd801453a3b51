import Chat
import Common
import Foundation
import Generation
import Spans
import Tasks
import Tokenizers

/// One (prompt, response) to critique.
public struct CritiquePair: Sendable, Equatable {
    public var id: String
    public var prompt: String
    public var response: String

    public init(id: String, prompt: String, response: String) {
        self.id = id
        self.prompt = prompt
        self.response = response
    }
}

/// A critique: an annotation record, or why the answer could not be used (a parse failure predicts nothing).
public enum CritiqueOutcome: Sendable, Equatable {
    case record(AnnotationRecord)
    case failure(id: String, raw: String, problem: String)

    /// The record, when the answer parsed.
    public var record: AnnotationRecord? {
        if case .record(let record) = self { return record }
        return nil
    }
}

/// A reward model answering critiques: a local model (with its LoRA adapter merged or on) generating greedily
/// with JSON-object constrained decoding, or any OpenAI-compatible endpoint serving one. Both get the same
/// conversation (`RewardModelFormat.messages`) and their answers go through the annotator's parser and aligner,
/// so `critique` records and `annotate` records are interchangeable.
// Unchecked Sendable: settings fixed before a run; a local model critiques one batch at a time.
public final class Critic: @unchecked Sendable {
    public enum Backend: Sendable {
        /// A model in this process; `name` is written as the record's teacher model.
        case local(Generator, name: String)
        /// An endpoint; `settings` name its URL and model.
        case remote(any ChatCompleting, settings: EndpointSettings)
        /// A function writing the answer text in process (a rule-based teacher); `name` as for `local`.
        case function(@Sendable (CritiquePair) -> String, name: String)
    }

    public let backend: Backend
    public let format: RewardModelFormat
    /// The longest answer, in tokens.
    public var maxNewTokens = 256
    /// Pairs per generation batch (local).
    public var batchSize = 8
    /// Requests in flight (remote).
    public var concurrency = 8
    /// Local: decoding lets each quote be only a verbatim substring of the response (`JSONPrefix.QuoteRule`; the
    /// dense target: every word in order after a tag), so no quote is unmatched and every one can reward tokens;
    /// false lets the model write any text, as an endpoint does.
    public var quotesFromResponse = true
    /// With `quotesFromResponse`: at most this many quotes per label (e.g. the "0 to 2 phrases" the summarization
    /// prompt asks for); nil for no limit.
    public var maxQuotesPerLabel: Int?
    public var aligner = SpanAligner()
    /// The conversation for a pair: the reward model's (`RewardModelFormat.messages`) unless set, e.g. to an
    /// annotation task's teacher prompt (`asTeacher`) when a general LLM critiques directly.
    public var conversation: @Sendable (CritiquePair) throws -> [ChatMessage]

    public init(backend: Backend, format: RewardModelFormat) {
        self.backend = backend
        self.format = format
        conversation = { [format] pair in format.messages(prompt: pair.prompt, response: pair.response) }
    }

    /// Asks with `task`'s teacher prompts instead of the reward model's (a teacher LLM as the reward source).
    public func asTeacher(_ task: any AnnotationTask) {
        conversation = { pair in
            try task.messages(for: TaskItem(id: pair.id, prompt: pair.prompt, response: pair.response), execution: nil)
        }
    }

    /// Critiques every pair, in order (local: batched greedy generation; remote: concurrent requests).
    public func critique(_ pairs: [CritiquePair]) throws -> [CritiqueOutcome] {
        switch backend {
        case let .local(generator, name):
            return try critiqueLocally(pairs, generator: generator, name: name)
        case let .remote(client, settings):
            return try runBlocking { try await self.critiqueRemotely(pairs, client: client, settings: settings) }
        case let .function(answer, name):
            return pairs.map { pair in
                let began = Date()
                let raw = answer(pair)
                let teacher = TeacherInfo(model: name, baseURL: "", temperature: 0, usage: TokenUsage(),
                                          latencyMilliseconds: Int(Date().timeIntervalSince(began) * 1000), attempts: 1)
                return outcome(pair, raw: raw, teacher: teacher)
            }
        }
    }

    func critiqueLocally(_ pairs: [CritiquePair], generator: Generator, name: String) throws -> [CritiqueOutcome] {
        guard let tokenizer = generator.tokenizer else { throw GenerationError.needsTokenizer("critiques") }
        var parameters = SamplingParameters()
        parameters.maxNewTokens = maxNewTokens
        parameters.jsonObject = true
        var outcomes: [CritiqueOutcome] = []
        for start in stride(from: 0, to: pairs.count, by: max(1, batchSize)) {
            let group = Array(pairs[start..<min(pairs.count, start + max(1, batchSize))])
            let requests = try group.map { pair in
                var p = parameters
                if quotesFromResponse { p.jsonQuotes = format.quoteRule(response: pair.response, maxQuotes: maxQuotesPerLabel) }
                return GenerationRequest(promptIds: try tokenizer.chatPromptIds(conversation(pair)), parameters: p)
            }
            let began = Date()
            let generated = try generator.generate(requests)
            let milliseconds = Int(Date().timeIntervalSince(began) * 1000) / max(1, group.count)
            for (pair, sequence) in zip(group, generated) {
                let teacher = TeacherInfo(
                    model: name, baseURL: "", temperature: 0,
                    usage: TokenUsage(promptTokens: sequence.promptTokens, completionTokens: sequence.tokenIds.count),
                    latencyMilliseconds: milliseconds, attempts: 1)
                outcomes.append(outcome(pair, raw: sequence.text, teacher: teacher))
            }
        }
        return outcomes
    }

    func critiqueRemotely(_ pairs: [CritiquePair], client: any ChatCompleting, settings: EndpointSettings) async throws
        -> [CritiqueOutcome]
    {
        let maxTokens = maxNewTokens, width = max(1, concurrency), conversation = self.conversation
        return try await withThrowingTaskGroup(of: (Int, CritiqueOutcome).self) { group in
            var results = [CritiqueOutcome?](repeating: nil, count: pairs.count)
            var next = 0
            func launch() {
                guard next < pairs.count else { return }
                let index = next, pair = pairs[index]
                next += 1
                group.addTask {
                    do {
                        let request = ChatRequest(messages: try conversation(pair), temperature: 0, maxTokens: maxTokens)
                        let reply = try await client.complete(request)
                        let teacher = TeacherInfo(model: settings.model, baseURL: publicURL(settings.baseURL), temperature: 0,
                                                  usage: reply.usage, latencyMilliseconds: reply.latencyMilliseconds,
                                                  attempts: reply.attempts)
                        return (index, self.outcome(pair, raw: reply.content, teacher: teacher))
                    } catch {
                        return (index, .failure(id: pair.id, raw: "", problem: "request failed: \(error)"))
                    }
                }
            }
            for _ in 0..<width { launch() }
            while let (index, result) = try await group.next() {
                results[index] = result
                launch()
            }
            return results.map { $0! }
        }
    }

    /// Parses and aligns one answer.
    func outcome(_ pair: CritiquePair, raw: String, teacher: TeacherInfo) -> CritiqueOutcome {
        switch format.parse(raw, response: pair.response, aligner: aligner) {
        case .failure(let problem):
            return .failure(id: pair.id, raw: raw, problem: problem.description)
        case .success(let answer):
            return .record(AnnotationRecord(id: pair.id, task: format.task, prompt: pair.prompt, response: pair.response,
                                            critique: answer.critique, spans: answer.spans, teacher: teacher, raw: raw))
        }
    }
}
