import Generation
import Models
import Testing

/// Requests that join a running batch generate exactly what they generate alone.
@Suite struct ContinuousBatchingTests {
    let generator = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer)

    func request(_ prompt: [Int], _ maxNew: Int, seed: UInt64? = nil) -> GenerationRequest {
        var p = SamplingParameters()
        p.maxNewTokens = maxNew
        p.minNewTokens = maxNew
        if let seed {
            p.temperature = 0.9
            p.seed = seed
        }
        return GenerationRequest(promptIds: prompt, parameters: p)
    }

    func alone(_ request: GenerationRequest) throws -> [Int] { try generator.generate([request])[0].tokenIds }

    @Test("joiners — longer prompts (the batch shifts right), shorter ones, past the cache's capacity, one-token ones, into an empty batch — equal their solo runs",
          arguments: [true, false])
    func joinersMatchSoloRuns(compacting: Bool) throws {
        generator.compactsFinishedRows = compacting
        defer { generator.compactsFinishedRows = true }
        let initial = [request([5, 9, 14, 3, 22], 12), request([7, 8, 9, 10, 11, 12, 13, 14, 15], 6, seed: 3)]
        // admission call n (one per decode step) → who joins
        let schedule: [Int: [GenerationRequest]] = [
            2: [request(Array(1...20), 8), request([4, 4, 4, 4], 5, seed: 11)],  // 20 > the 9 + 2 slots so far: shift
            5: [request([30, 31, 32], 40)],                                        // needs more slots than allocated
            6: [request([2, 3], 1)],                                               // done on its first token
        ]
        let last = request([17, 18, 19, 20, 21, 22, 23], 4)  // joins once everything else has finished
        var lastJoinedAt: Int?
        var calls = 0
        var joined: [GenerationRequest] = []
        var firstSeen: [Int: Int] = [:]
        var runningSeen: [Int] = []
        let results = try generator.generate(initial, admit: { running in
            defer { calls += 1 }
            runningSeen.append(running)
            var joining = schedule[calls] ?? []
            if running == 0 && lastJoinedAt == nil {
                lastJoinedAt = calls
                joining = [last]
            }
            joined += joining
            return joining
        }, onToken: { row, _ in
            if firstSeen[row] == nil { firstSeen[row] = calls }
            return true
        })
        let all = initial + joined
        #expect(results.count == all.count)
        for (i, (request, result)) in zip(all, results).enumerated() {
            #expect(result.tokenIds == (try alone(request)), "sequence \(i)")
            #expect(result.tokenIds.count == request.parameters.maxNewTokens)
        }
        // The others joined a running batch; the last one came when nothing else ran, and did not end the run.
        #expect(firstSeen[2] == 3 && firstSeen[4] == 6, "\(firstSeen)")
        #expect(runningSeen.prefix(6).allSatisfy { $0 > 0 })
        #expect(lastJoinedAt ?? 0 > 40 && joined.last?.promptIds == last.promptIds)
    }

    @Test("trimming padding left by departed sequences keeps the others' logits, and bounds a batch that keeps admitting")
    func trimmingKeepsLogits() throws {
        let model = Fixtures.chat.model
        let long = Array(1...40), short = [7, 3, 9, 4]
        let shared = KVCache(config: model.config, batchSize: 2, capacity: 48)
        try model.prefill(TokenBatch(sequences: [long, short], padding: .left, padId: 0), cache: shared)
        shared.keepRows([1])
        #expect(shared.trimLeadingPadding() && shared.length == 4)
        #expect(!shared.trimLeadingPadding(), "nothing left to trim")
        let solo = KVCache(config: model.config, batchSize: 1, capacity: 48)
        try model.prefill(TokenBatch(sequences: [short], padding: .left, padId: 0), cache: solo)
        for token in [11, 12, 13] {
            try model.decodeStep(ids: [Int32(token)], mask: [1], tokens: 1, cache: shared)
            try model.decodeStep(ids: [Int32(token)], mask: [1], tokens: 1, cache: solo)
            let V = model.config.vocabSize
            #expect(maxAbsDifference(shared.logits.data, solo.logits.data, count: V) < 1e-5)
        }
        // A long-running request with a stream of short ones joining, one per step: every output equals its solo
        // run, and the first sequence's departure lets the padding go.
        var calls = 0
        var joined: [GenerationRequest] = []
        let first = request(Array(1...60), 30)
        let results = try generator.generate([first], admit: { running in
            defer { calls += 1 }
            guard calls < 45, running < 4 else { return [] }
            let r = request([5 + calls % 7, 9, 2], 6, seed: calls % 3 == 0 ? UInt64(calls) : nil)
            joined.append(r)
            return [r]
        })
        for (i, (request, result)) in zip([first] + joined, results).enumerated() {
            #expect(result.tokenIds == (try alone(request)), "sequence \(i)")
        }
    }
}
