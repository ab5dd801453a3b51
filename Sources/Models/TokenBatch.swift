import Foundation
import JSON

/// A batch of token sequences padded to one length, with the mask and positions the model needs.
public struct TokenBatch: Sendable, Equatable {
    public enum Padding: Sendable { case left, right }

    public let batchSize: Int
    public let length: Int
    /// (B, T) token ids; padding slots hold `padId`.
    public var ids: [Int32]
    /// (B, T): 1 for real tokens, 0 for padding.
    public var mask: [Float]

    /// Pads `sequences` to the longest one. Left padding is what batched generation needs.
    public init(sequences: [[Int]], padding: Padding = .right, padId: Int = 0) {
        precondition(!sequences.isEmpty, "an empty batch")
        batchSize = sequences.count
        length = max(1, sequences.map(\.count).max() ?? 1)
        ids = [Int32](repeating: Int32(padId), count: batchSize * length)
        mask = [Float](repeating: 0, count: batchSize * length)
        for (b, sequence) in sequences.enumerated() {
            let offset = padding == .left ? length - sequence.count : 0
            for (t, id) in sequence.enumerated() {
                // An id beyond Int32 must not wrap onto a real token: it becomes one `validate` rejects.
                ids[b * length + offset + t] = Int32(exactly: id) ?? Int32.min
                mask[b * length + offset + t] = 1
            }
        }
    }

    /// (B, T) rotary positions: the count of real tokens before each one, so padding never shifts them.
    public var positions: [Int32] {
        var positions = [Int32](repeating: 0, count: ids.count)
        for b in 0..<batchSize {
            var next: Int32 = 0
            for t in 0..<length where mask[b * length + t] > 0 {
                positions[b * length + t] = next
                next += 1
            }
        }
        return positions
    }

    /// Throws when a token id is outside the vocabulary (embedding lookups trust the ids).
    public func validate(vocabSize: Int) throws {
        for (i, id) in ids.enumerated() where id < 0 || Int(id) >= vocabSize {
            throw ModelError.tokenOutOfRange(sequence: i / length, position: i % length, id: Int(id), vocabSize: vocabSize)
        }
    }
}

extension TokenBatch {
    /// Token ids from a JSON array: integers only. `2.5`, `true`, `"3"` or a number beyond 2⁵³ make the whole
    /// array nil, never a floored, coerced or truncated id (the caller checks the vocabulary, so 4294967301 is
    /// reported as itself, not as token 5).
    public static func ids(fromJSON value: JSONValue?) -> [Int]? {
        guard let list = value?.arrayValue else { return nil }
        var ids: [Int] = []
        ids.reserveCapacity(list.count)
        for item in list {
            guard let id = item.intValue else { return nil }
            ids.append(id)
        }
        return ids
    }

    /// Throws `tokenOutOfRange` for the first id outside [0, vocabSize), naming its sequence and position.
    public static func validate(_ sequences: [[Int]], vocabSize: Int) throws {
        for (s, sequence) in sequences.enumerated() {
            if let t = sequence.firstIndex(where: { $0 < 0 || $0 >= vocabSize }) {
                throw ModelError.tokenOutOfRange(sequence: s, position: t, id: sequence[t], vocabSize: vocabSize)
            }
        }
    }
}
