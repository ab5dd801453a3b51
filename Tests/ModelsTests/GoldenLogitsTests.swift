import Models
import Testing

/// Logits of tiny random models against `transformers` (fixtures from scripts/make_model_fixtures.py).
/// Tolerance: 1e-4 absolute on logits of magnitude ~1–10.
@Suite struct GoldenLogitsTests {
    static let tolerance: Float = 1e-4

    @Test(arguments: Fixtures.modelNames)
    func singleSequencesMatchTransformers(model name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let expected = try Fixtures.expected(name)
        let V = model.config.vocabSize
        for (i, sequence) in try Fixtures.sequences(name).enumerated() {
            let logits = try model.logits(TokenBatch(sequences: [sequence]))
            let reference = try expected.floats("single.\(i)")
            #expect(reference.count == sequence.count * V)
            let error = reference.withUnsafeBufferPointer { maxAbsDifference(logits.data, $0.baseAddress!, count: $0.count) }
            print("\(name) sequence \(i): max |Δlogit| = \(error)")
            #expect(error <= Self.tolerance, "\(name) sequence \(i): max |Δlogit| = \(error)")
        }
    }

    /// Every row of a left- or right-padded batch equals transformers' logits for that sequence alone.
    @Test(arguments: Fixtures.modelNames)
    func paddedBatchesMatchTransformers(model name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let expected = try Fixtures.expected(name)
        let sequences = try Fixtures.sequences(name)
        let V = model.config.vocabSize
        for padding in [TokenBatch.Padding.left, .right] {
            let batch = TokenBatch(sequences: sequences, padding: padding)
            let logits = try model.logits(batch)
            for (b, sequence) in sequences.enumerated() {
                let reference = try expected.floats("single.\(b)")
                let offset = padding == .left ? batch.length - sequence.count : 0
                let start = (b * batch.length + offset) * V
                let error = reference.withUnsafeBufferPointer { maxAbsDifference(logits.data + start, $0.baseAddress!, count: $0.count) }
                #expect(error <= Self.tolerance, "\(name), \(padding) padding, sequence \(b): max |Δlogit| = \(error)")
            }
        }
    }
}

/// `LlamaModel.score` against `exp(model(ids, labels=ids).loss)` from transformers.
@Suite struct ScoreTests {
    @Test(arguments: Fixtures.modelNames)
    func perplexityMatchesTransformers(model name: String) throws {
        let model = try LlamaModel(directory: Fixtures.model(name))
        let sequences = try Fixtures.sequences(name)
        let expected = try Fixtures.perplexities(name)
        let scores = try model.score(sequences, batchSize: 2)
        for (score, reference) in zip(scores, expected) {
            #expect(abs(score.perplexity - reference) / reference < 1e-5, "\(name): \(score.perplexity) vs \(reference)")
        }
        #expect(scores.map(\.tokenLogProbabilities.count) == sequences.map { $0.count - 1 })
    }
}
