import Foundation

extension Generator {
    /// Generates `requests` in order, `batchSize` at a time, and hands each batch's results to `emit` with the
    /// index of the batch's first request before the next batch starts, so a long file's results are written as
    /// they come rather than all at the end.
    public func generate(
        _ requests: [GenerationRequest], batchSize: Int,
        emit: (_ start: Int, _ results: [GeneratedSequence]) throws -> Void
    ) throws {
        precondition(batchSize > 0, "batchSize must be positive")
        for start in stride(from: 0, to: requests.count, by: batchSize) {
            let end = min(start + batchSize, requests.count)
            try emit(start, try generate(Array(requests[start..<end])))
        }
    }
}
