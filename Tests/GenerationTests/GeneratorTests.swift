import Foundation
import Generation
import Models
import Testing
import Tokenizers

@Suite struct GeneratorTests {
    let generator = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer)

    func greedy(_ maxNewTokens: Int) -> SamplingParameters {
        var p = SamplingParameters()
        p.maxNewTokens = maxNewTokens
        p.minNewTokens = maxNewTokens  // transformers' fixture ran without early stopping
        return p
    }

    @Test("greedy output equals transformers' generate, alone and batched")
    func greedyMatchesTransformers() throws {
        let fixture = try Fixtures.greedy()
        let requests = fixture.cases.map { GenerationRequest(promptIds: $0.prompt_ids, parameters: greedy(fixture.max_new_tokens)) }
        for (request, expected) in zip(requests, fixture.cases) {
            let alone = try generator.generate([request])[0]
            #expect(alone.tokenIds == expected.generated_ids, "alone: \(expected.prompt)")
        }
        let batched = try generator.generate(requests)
        for (result, expected) in zip(batched, fixture.cases) {
            #expect(result.tokenIds == expected.generated_ids, "batched: \(expected.prompt)")
            #expect(result.finishReason == .length)
            #expect(result.promptTokens == expected.prompt_ids.count)
        }
    }

    @Test("each sequence of a batch stops on its own and keeps its own lengths")
    func independentStops() throws {
        let fixture = try Fixtures.greedy()
        var short = greedy(3)
        short.minNewTokens = 0
        var long = greedy(10)
        long.minNewTokens = 0
        let first = fixture.cases[0].generated_ids
        var stopping = greedy(10)
        stopping.minNewTokens = 0
        stopping.stopTokenIds = [first[4]]
        let results = try generator.generate([
            GenerationRequest(promptIds: fixture.cases[0].prompt_ids, parameters: short),
            GenerationRequest(promptIds: fixture.cases[1].prompt_ids, parameters: long),
            GenerationRequest(promptIds: fixture.cases[0].prompt_ids, parameters: stopping),
        ])
        #expect(results[0].tokenIds == Array(first.prefix(3)) && results[0].finishReason == .length)
        #expect(results[1].tokenIds == Array(fixture.cases[1].generated_ids.prefix(10)))
        let stopAt = first.firstIndex(of: first[4])!
        #expect(results[2].tokenIds == Array(first.prefix(stopAt + 1)) && results[2].finishReason == .stop)
    }

    @Test("sequences that finish leave the cache: the others decode as before, sampled or greedy")
    func finishedRowsLeaveTheCache() throws {
        let fixture = try Fixtures.greedy()
        // Five sequences finishing after 2, 9, 4, 12 and 6 tokens, in an order that moves rows about.
        let lengths = [2, 9, 4, 12, 6]
        let requests = lengths.enumerated().map { i, n -> GenerationRequest in
            var p = greedy(n)
            if i % 2 == 1 { p.temperature = 0.9; p.seed = UInt64(i) }
            return GenerationRequest(promptIds: fixture.cases[i % fixture.cases.count].prompt_ids, parameters: p)
        }
        let compacting = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer)
        let masking = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer)
        masking.compactsFinishedRows = false
        let a = try compacting.generate(requests), b = try masking.generate(requests)
        for i in requests.indices {
            #expect(a[i].tokenIds.count == lengths[i])
            #expect(a[i].tokenIds == b[i].tokenIds, "sequence \(i)")
            for (x, y) in zip(a[i].logprobs, b[i].logprobs) { #expect(abs(x - y) < 1e-4, "sequence \(i): \(x) vs \(y)") }
        }
    }

    @Test("log-probabilities are the model's: they equal a scored forward pass of prompt + output")
    func logprobsMatchScore() throws {
        var p = SamplingParameters()
        p.temperature = 0.9
        p.seed = 3
        p.maxNewTokens = 12
        p.minNewTokens = 12
        let prompt = Fixtures.greedy_prompt
        let result = try generator.generate([GenerationRequest(promptIds: prompt, parameters: p)])[0]
        let scored = try Fixtures.chat.model.score([prompt + result.tokenIds])[0].tokenLogProbabilities
        let tail = Array(scored.suffix(result.tokenIds.count))
        for (got, want) in zip(result.logprobs, tail) { #expect(abs(got - want) < 1e-4) }
        #expect(result.logprobs.allSatisfy { $0 <= 0 })
    }

    @Test("same seed, same text; another seed, another text")
    func seeds() throws {
        func run(_ seed: UInt64) throws -> [Int] {
            var p = SamplingParameters()
            p.temperature = 1.0
            p.topP = 0.95
            p.seed = seed
            p.maxNewTokens = 16
            p.minNewTokens = 16
            return try generator.generate([GenerationRequest(promptIds: Fixtures.greedy_prompt, parameters: p)])[0].tokenIds
        }
        #expect(try run(7) == run(7))
        #expect(try run(7) != run(8))
    }

    @Test("top-k 1 is greedy; min new tokens holds back a stop token")
    func topKAndMinTokens() throws {
        let fixture = try Fixtures.greedy()
        var p = greedy(8)
        p.temperature = 1.5
        p.topK = 1
        p.seed = 1
        let result = try generator.generate([GenerationRequest(promptIds: fixture.cases[2].prompt_ids, parameters: p)])[0]
        #expect(result.tokenIds == Array(fixture.cases[2].generated_ids.prefix(8)))

        var held = greedy(8)
        held.minNewTokens = 6
        held.stopTokenIds = [fixture.cases[2].generated_ids[0]]
        let heldResult = try generator.generate([GenerationRequest(promptIds: fixture.cases[2].prompt_ids, parameters: held)])[0]
        #expect(heldResult.tokenIds.count >= 6)
        #expect(!heldResult.tokenIds.prefix(5).contains(fixture.cases[2].generated_ids[0]))
    }

    @Test("a repetition penalty changes greedy output away from repeated tokens")
    func repetitionPenalty() throws {
        let prompt = Fixtures.greedy_prompt
        var plain = greedy(24)
        let base = try generator.generate([GenerationRequest(promptIds: prompt, parameters: plain)])[0].tokenIds
        plain.repetitionPenalty = 100
        let penalised = try generator.generate([GenerationRequest(promptIds: prompt, parameters: plain)])[0].tokenIds
        #expect(base != penalised)
        #expect(Set(penalised).count == penalised.count, "a huge penalty never repeats a token")
        #expect(Set(penalised).isDisjoint(with: prompt))
    }

    @Test("stop strings cut the text, streamed pieces add up to the final text")
    func stopStrings() throws {
        let fixture = try Fixtures.greedy()
        var p = greedy(24)
        p.minNewTokens = 0
        let full = try generator.generate([GenerationRequest(promptIds: fixture.cases[1].prompt_ids, parameters: p)])[0]
        #expect(!full.text.isEmpty)
        let characters = Array(full.text)
        let stop = String(characters[characters.count / 2..<min(characters.count, characters.count / 2 + 3)])
        p.stopStrings = [stop]
        var streamed = ""
        let request = GenerationRequest(promptIds: fixture.cases[1].prompt_ids, parameters: p)
        let cut = try generator.generate([request], onToken: { _, event in
            streamed += event.text
            return true
        })[0]
        let expected = String(full.text[..<full.text.range(of: stop)!.lowerBound])
        #expect(cut.text == expected)
        #expect(streamed == expected)
        #expect(cut.finishReason == .stop)
        #expect(cut.tokenIds.count < full.tokenIds.count)
    }

    @Test("a callback returning false cancels only its sequence")
    func cancel() throws {
        let p = greedy(10)
        let requests = [
            GenerationRequest(promptIds: [5, 6, 7], parameters: p), GenerationRequest(promptIds: [8, 9], parameters: p),
        ]
        let results = try generator.generate(requests, onToken: { sequence, _ in sequence != 0 })
        #expect(results[0].finishReason == .cancelled && results[0].tokenIds.count == 1)
        #expect(results[1].tokenIds.count == 10)
    }

    @Test("bad parameters and prompts are typed errors")
    func errors() throws {
        var p = SamplingParameters()
        p.topP = 0
        #expect(throws: GenerationError.self) { try generator.generate([GenerationRequest(promptIds: [1], parameters: p)]) }
        p = SamplingParameters()
        p.maxNewTokens = 5000
        #expect(throws: GenerationError.contextTooLong(sequence: 0, promptTokens: 1, maxNewTokens: 5000, limit: 4096)) {
            try generator.generate([GenerationRequest(promptIds: [1], parameters: p)])
        }
        #expect(throws: GenerationError.self) { try generator.generate([GenerationRequest(promptIds: [100_000])]) }
        let noText = Generator(model: Fixtures.chat.model)
        p = SamplingParameters()
        p.stopStrings = ["x"]
        #expect(throws: GenerationError.needsTokenizer("stop strings")) {
            try noText.generate([GenerationRequest(promptIds: [1], parameters: p)])
        }
    }
}

extension Fixtures {
    static let greedy_prompt = [473, 301, 274, 88, 120]
}
