import Generation
import JSON
import Tokenizers

/// A language model behind a `GenerationService` (`text2grad serve --model`): chat and text completions, whole or
/// streamed, with log-probabilities and JSON mode.
///
/// Answering, in order:
/// 1. the prompts are made on the preparation threads: the chat template over `messages`, or the `prompt` strings
///    encoded, or the token ids as given; each must lie in the vocabulary and leave room in the context
///    (`context_length_exceeded`), and a request without `max_tokens` gets the server's default, capped by the
///    room left;
/// 2. the sequences, `n` per prompt, are queued (503 when the queue is full and waiting can help, else 400);
/// 3. the answer is collected whole, or streamed: one chunk per token (or per piece of final text), a chunk with
///    `finish_reason` per choice, and the usage chunk when asked for.
public struct ModelBackend: CompletionBackend {
    let service: any GenerationService
    /// Read-only after loading, so sharing it between request handlers is safe.
    let tokenizer: Tokenizer
    let contextLength: Int
    let vocabSize: Int

    public var kinds: Set<OpenAIRequest.Kind> { [.chat, .text] }

    /// A backend generating with `service`; prompts are tokenised with `tokenizer` up to `contextLength` tokens,
    /// and token-id prompts must lie in `vocabSize`.
    public init(service: any GenerationService, tokenizer: Tokenizer, contextLength: Int, vocabSize: Int) {
        self.service = service
        self.tokenizer = tokenizer
        self.contextLength = contextLength
        self.vocabSize = vocabSize
    }

    /// A request's prompts as token ids, and what to generate for each.
    struct Plan {
        var prompts: [[Int]]
        var parameters: SamplingParameters
        var n: Int

        /// The generation requests, prompt-major: choice i of prompt p is at p·n + i. With a seed, choice i uses
        /// seed + i so the n choices differ yet repeat.
        var generationRequests: [GenerationRequest] {
            prompts.flatMap { prompt in
                (0..<n).map { i in
                    var p = parameters
                    p.seed = parameters.seed.map { $0 &+ UInt64(i) }
                    return GenerationRequest(promptIds: prompt, parameters: p)
                }
            }
        }
    }

    public func answer(_ request: OpenAIRequest, configuration: ServerConfiguration) async throws -> CompletionAnswer {
        let plan = try await WorkerThreads.prepare { [self] in
            try self.plan(request, defaultMaxTokens: configuration.defaultMaxTokens)
        }
        let requests = plan.generationRequests
        let submission = try Self.submit(requests, to: service)
        let response = OpenAIResponse(
            kind: request.kind, model: configuration.modelName, includeUsage: request.includeUsage)
        let writer = LogprobsWriter(kind: request.kind, tokenizer: tokenizer)
        let promptTokens = plan.prompts.reduce(0) { $0 + $1.count }
        if request.stream {
            return .stream(stream(submission, count: requests.count, request: request, response: response,
                                  writer: writer, promptTokens: promptTokens))
        }
        var results = [GeneratedSequence?](repeating: nil, count: requests.count)
        for await event in submission.events {
            switch event {
            case .token: break
            case let .finished(index, result): results[index] = result
            case let .failed(message): throw APIError.internalError(message)
            }
        }
        guard results.allSatisfy({ $0 != nil }) else { throw APIError.internalError("generation stopped early") }
        let choices = results.enumerated().map { index, result in
            let result = result!
            let tokens = zip(result.tokenIds, result.logprobs).map { TokenLogprob(id: $0, logprob: $1) }
            return response.choice(
                index: index, text: result.text, finish: OpenAIResponse.finishReason(result.finishReason),
                logprobs: request.logprobs ? writer.logprobs(tokens, top: result.topLogprobs) : .null)
        }
        let completionTokens = results.reduce(0) { $0 + $1!.tokenIds.count }
        return .whole(response.complete(choices: choices, promptTokens: promptTokens,
                                        completionTokens: completionTokens))
    }

    /// Rule 1: the prompts and the resolved sampling parameters; every problem a 400 naming its field.
    func plan(_ request: OpenAIRequest, defaultMaxTokens: Int) throws -> Plan {
        let prompts: [[Int]]
        switch request.input {
        case .messages(let messages):
            do {
                prompts = [try tokenizer.chatPromptIds(messages)]
            } catch {
                throw APIError.badRequest("The chat template failed: \(error)", param: "messages")
            }
        case .texts(let texts):
            prompts = texts.map { tokenizer.encodeIds($0, addSpecialTokens: true) }
        case .tokenIds(let ids):
            prompts = ids
        }
        for prompt in prompts {
            if prompt.isEmpty && tokenizer.bosTokenId == nil {
                throw APIError.badRequest("The prompt is empty.", param: request.kind == .chat ? "messages" : "prompt")
            }
            if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw APIError.badRequest("Token id \(bad) is outside the vocabulary of \(vocabSize).", param: "prompt")
            }
        }
        let longest = prompts.map(\.count).max() ?? 0
        guard longest < contextLength else {
            throw APIError.badRequest("The prompt has \(longest) tokens; the context is \(contextLength).",
                                      param: "messages", code: "context_length_exceeded")
        }
        var p = request.parameters
        p.maxNewTokens = request.maxTokens ?? min(defaultMaxTokens, contextLength - longest)
        guard longest + p.maxNewTokens <= contextLength else {
            throw APIError.badRequest(
                "This model's context is \(contextLength) tokens; the prompt (\(longest)) plus max_tokens "
                    + "(\(p.maxNewTokens)) exceed it.",
                param: "max_tokens", code: "context_length_exceeded")
        }
        do { try p.validate() } catch { throw APIError.badRequest("\(error)") }
        return Plan(prompts: prompts, parameters: p, n: request.n)
    }

    /// Rule 2: queues `requests`, a refusal answered as the API's error (503 when retrying can help, else 400).
    static func submit(_ requests: [GenerationRequest], to service: any GenerationService) throws -> Submission {
        do {
            return try service.submit(requests)
        } catch let error as SchedulerError {
            throw APIError(error)
        }
    }

    /// Rule 3, streamed: a chat's role chunks first, then the tokens as they come, a finish chunk per choice, and
    /// the usage chunk when asked for.
    func stream(_ submission: Submission, count: Int, request: OpenAIRequest, response: OpenAIResponse,
                writer: LogprobsWriter, promptTokens: Int) -> ChunkStream {
        let box = UncheckedBox(writer)
        return ChunkStream(produce: { send in
            if request.kind == .chat {
                for index in 0..<count { try await send(response.chunk(index: index, text: "", role: true)) }
            }
            var completionTokens = 0
            for await event in submission.events {
                switch event {
                case let .token(index, token):
                    completionTokens += 1
                    let lp = request.logprobs ? box.value.logprobs([token.token], top: [token.top]) : .null
                    if !token.text.isEmpty || lp != .null {
                        try await send(response.chunk(index: index, text: token.text, logprobs: lp))
                    }
                case let .finished(index, result):
                    let finish = OpenAIResponse.finishReason(result.finishReason)
                    try await send(response.chunk(index: index, text: request.kind == .chat ? nil : "", finish: finish))
                case let .failed(message):
                    try await send(APIError.internalError(message).body)
                }
            }
            if request.includeUsage {
                try await send(response.usageChunk(prompt: promptTokens, completion: completionTokens))
            }
        }, cancel: submission.cancel)
    }
}
