import Common
import Foundation
import Generation
import JSON
import Models
import RewardModel
import Tokenizers

/// A prompt of the policy's data: its id, its text (what the critic sees), its token ids (through the chat
/// template) and the line's other fields (a reference, facts) for a task's own metric.
public struct PolicyPrompt: Sendable {
    public var id: String
    public var text: String
    public var ids: [Int]
    public var fields: JSONValue

    /// Reads prompts JSONL: `prompt` (a non-empty user turn) or `messages` (the conversation so far), `id` optional
    /// (a string, unique in the file; default "line N"). Every problem names the file, the line and the field; a
    /// file without prompts is an error.
    public static func load(path: String, tokenizer: Tokenizer) throws -> [PolicyPrompt] {
        var seen: [String: Int] = [:]
        let prompts = try JSONLines.read(path: path).map { line -> PolicyPrompt in
            func bad(_ detail: String) -> FileError { FileError.badLine(path: path, line: line.number, detail: detail) }
            let messages: [ChatMessage]
            switch (line.object["prompt"], line.object["messages"]) {
            case let (.string(prompt)?, nil):
                guard !prompt.isEmpty else { throw bad("\"prompt\" is empty") }
                messages = [ChatMessage(role: "user", content: prompt)]
            case (nil, let list?):
                do {
                    messages = try ChatMessage.dataList(fromJSON: list)
                } catch {
                    throw bad("\(error)")
                }
            case (_?, _?):
                throw bad("has both \"prompt\" and \"messages\"; give one")
            case (_?, nil):
                throw bad("\"prompt\" must be a string")
            default:
                throw bad("needs \"prompt\" (text) or \"messages\"")
            }
            let id: String
            switch line.object["id"] {
            case nil: id = "line \(line.number)"
            case .string(let text)?: id = text
            default: throw bad("\"id\" must be a string")
            }
            if let first = seen.updateValue(line.number, forKey: id) {
                throw bad("id '\(id.prefix(60))' is also on line \(first); ids must be unique")
            }
            let ids = try promptIds(messages, tokenizer: tokenizer)
            guard !ids.isEmpty else { throw bad("the prompt encodes to no tokens") }
            let text = messages.count == 1 ? messages[0].content : messages.map { "\($0.role): \($0.content)" }.joined(separator: "\n\n")
            return PolicyPrompt(id: id, text: text, ids: ids, fields: line.object)
        }
        if prompts.isEmpty { throw FileError.io(path: path, detail: "holds no prompts") }
        return prompts
    }

    /// The ids the policy is given for a conversation: the chat template with the assistant's turn opened, or the
    /// turns' text joined by newlines (with the tokenizer's special tokens) when it has no template.
    static func promptIds(_ messages: [ChatMessage], tokenizer: Tokenizer) throws -> [Int] {
        tokenizer.chatTemplate == nil
            ? tokenizer.encodeIds(messages.map(\.content).joined(separator: "\n"), addSpecialTokens: true)
            : try tokenizer.chatPromptIds(messages)
    }

    /// A prompt of exactly `length` ids, for timing steps at one shape: `text` as one user turn, repeated (a blank
    /// line between) until the prompt has at least `length` ids, then its last `length` ids, so the turn still
    /// ends in the opened assistant turn. A critic reads `text` once.
    public static func fitted(id: String, text: String, length: Int, tokenizer: Tokenizer) throws -> PolicyPrompt {
        precondition(length > 0 && !text.isEmpty, "a fitted prompt needs text and a positive length")
        var content = text
        var ids = try promptIds([ChatMessage(role: "user", content: content)], tokenizer: tokenizer)
        while ids.count < length {
            content += "\n\n" + text
            ids = try promptIds([ChatMessage(role: "user", content: content)], tokenizer: tokenizer)
        }
        return PolicyPrompt(id: id, text: text, ids: Array(ids.suffix(length)), fields: [:])
    }
}

/// One step's rollouts: the sampled response ids (never decoded and re-encoded), their text and each token's
/// character offsets in it, laid out as rows of L tokens with a mask for the RL arithmetic.
// Unchecked Sendable: its prompts' parsed JSON objects are never mutated after parsing.
public struct Rollouts: @unchecked Sendable {
    public var prompts: [PolicyPrompt]
    /// Sampled ids per row, the end-of-sequence token included when one was sampled.
    public var responseIds: [[Int]]
    /// The responses' text (special tokens left out).
    public var responses: [String]
    /// Per response token, its [start, end) in Unicode scalars of `responses[b]` (empty for special tokens).
    public var offsets: [[Range<Int>]]
    /// Whether each response ended with an end-of-sequence token.
    public var endedWithEOS: [Bool]
    /// L: the longest response.
    public var length: Int
    /// (B, L): 1 for a response token.
    public var mask: [Float]

    public var count: Int { prompts.count }

    /// Rows of ids: text and offsets through an incremental decoder, so each token's characters are known.
    public init(prompts: [PolicyPrompt], responseIds: [[Int]], tokenizer: Tokenizer, endOfSequence: Set<Int>) {
        self.prompts = prompts
        self.responseIds = responseIds
        var texts: [String] = [], offsets: [[Range<Int>]] = []
        for ids in responseIds {
            var decoder = IncrementalDecoder(tokenizer: tokenizer)
            var text = "", position = 0, ranges: [Range<Int>] = []
            for (i, id) in ids.enumerated() {
                var piece = decoder.append(id)
                if i == ids.count - 1 { piece += decoder.finish() }
                let count = piece.unicodeScalars.count
                ranges.append(position..<(position + count))
                position += count
                text += piece
            }
            texts.append(text)
            offsets.append(ranges)
        }
        responses = texts
        self.offsets = offsets
        endedWithEOS = responseIds.map { $0.last.map(endOfSequence.contains) ?? false }
        length = max(1, responseIds.map(\.count).max() ?? 1)
        var mask = [Float](repeating: 0, count: prompts.count * length)
        for (b, ids) in responseIds.enumerated() {
            for j in 0..<ids.count { mask[b * length + j] = 1 }
        }
        self.mask = mask
    }

    /// A (B, L) array from per-row values.
    func rows(_ values: (Int) -> [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: count * length)
        for b in 0..<count {
            for (j, v) in values(b).enumerated() where j < length { out[b * length + j] = v }
        }
        return out
    }
}

/// Prompt + response sequences of some rows as one right-padded batch, with the targets that make the model
/// predict each response token, and where each (row, token) lands in the (B·T) layout.
struct SequenceBatch {
    let batch: TokenBatch
    /// (B·T): the next token where it is a response token, else −1.
    let targets: [Int32]
    /// flat[i][j]: the position in (B·T) that predicts response token j of the i-th selected row.
    let flat: [[Int]]

    init(_ rollouts: Rollouts, rows: [Int], padId: Int) {
        self.init(prompts: rows.map { rollouts.prompts[$0].ids }, responses: rows.map { rollouts.responseIds[$0] }, padId: padId)
    }

    /// Rows of non-empty prompts followed by their responses.
    init(prompts: [[Int]], responses: [[Int]], padId: Int) {
        precondition(prompts.allSatisfy { !$0.isEmpty }, "a response needs a non-empty prompt before it")
        batch = TokenBatch(sequences: zip(prompts, responses).map { $0 + $1 }, padding: .right, padId: padId)
        let T = batch.length
        var targets = [Int32](repeating: -1, count: prompts.count * T)
        var flat: [[Int]] = []
        for (i, response) in responses.enumerated() {
            let P = prompts[i].count
            var places: [Int] = []
            for (j, id) in response.enumerated() {
                let n = i * T + P + j - 1
                targets[n] = Int32(id)
                places.append(n)
            }
            flat.append(places)
        }
        self.targets = targets
        self.flat = flat
    }

    /// (rows·L) values of the response tokens from a (B·T) array.
    func gather(_ values: [Float], length L: Int) -> [Float] {
        var out = [Float](repeating: 0, count: flat.count * L)
        for (i, places) in flat.enumerated() {
            for (j, n) in places.enumerated() { out[i * L + j] = values[n] }
        }
        return out
    }

    /// A (B·T) array from (rows·L) values of the response tokens (0 elsewhere).
    func scatter(_ values: [Float], length L: Int) -> [Float] {
        var out = [Float](repeating: 0, count: batch.batchSize * batch.length)
        for (i, places) in flat.enumerated() {
            for (j, n) in places.enumerated() { out[n] = values[i * L + j] }
        }
        return out
    }
}
