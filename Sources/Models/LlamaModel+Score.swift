import Tensor

/// Per-token log-probabilities of sequences under the model: the paper's perplexity metric.
public struct SequenceScore: Sendable, Equatable {
    /// log p(token[t] | token[..<t]) for t = 1..<count (the first token has no prediction).
    public let tokenLogProbabilities: [Float]

    /// Mean negative log-likelihood per predicted token (0 for sequences of one token).
    public var meanNegativeLogLikelihood: Double {
        tokenLogProbabilities.isEmpty ? 0 : -tokenLogProbabilities.reduce(0.0) { $0 + Double($1) } / Double(tokenLogProbabilities.count)
    }

    /// exp(mean NLL), as `transformers` computes it from the shifted cross-entropy.
    public var perplexity: Double { exp(meanNegativeLogLikelihood) }
}

extension LlamaModel {
    /// Scores each sequence, `batchSize` sequences per forward pass (right-padded).
    public func score(_ sequences: [[Int]], batchSize: Int = 8) throws -> [SequenceScore] {
        precondition(batchSize > 0, "batch size must be positive")
        try TokenBatch.validate(sequences, vocabSize: config.vocabSize)
        var scores: [SequenceScore] = []
        scores.reserveCapacity(sequences.count)
        for start in stride(from: 0, to: sequences.count, by: batchSize) {
            let group = Array(sequences[start..<min(start + batchSize, sequences.count)])
            guard group.contains(where: { !$0.isEmpty }) else {
                scores += group.map { _ in SequenceScore(tokenLogProbabilities: []) }
                continue
            }
            let batch = TokenBatch(sequences: group, padding: .right, padId: 0)
            let logits = try self.logits(batch)
            let T = batch.length, V = config.vocabSize
            // targets[b, t] = ids[b, t + 1] where that token is real, else ignored.
            var targets = [Int32](repeating: -1, count: group.count * T)
            for (b, sequence) in group.enumerated() where sequence.count > 1 {
                for t in 0..<(sequence.count - 1) { targets[b * T + t] = Int32(sequence[t + 1]) }
            }
            var losses = [Float](repeating: 0, count: targets.count)
            targets.withUnsafeBufferPointer { t in
                losses.withUnsafeMutableBufferPointer { l in
                    crossEntropyForward(losses: l.baseAddress!, logits: logits.data, targets: t.baseAddress!, rows: t.count, columns: V)
                }
            }
            for (b, sequence) in group.enumerated() {
                let predicted = max(0, sequence.count - 1)
                scores.append(SequenceScore(tokenLogProbabilities: (0..<predicted).map { -losses[b * T + $0] }))
            }
        }
        return scores
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
