import Common
import Foundation
import JSON
import Models
import Tokenizers

/// One training sequence: tokens, and the span of tokens the loss is on (the target and its end-of-turn token).
public struct SFTExample: Sendable, Equatable {
    public var tokens: [Int]
    /// Tokens `targetStart..<targetEnd` are predicted with loss; everything before is context.
    public var targetStart: Int
    public var targetEnd: Int

    public init(tokens: [Int], targetStart: Int, targetEnd: Int) {
        self.tokens = tokens
        self.targetStart = targetStart
        self.targetEnd = targetEnd
    }

    /// Next-token targets per position (−1 where there is no loss): position t predicts token t + 1.
    public func targets(length T: Int) -> [Int32] {
        var targets = [Int32](repeating: -1, count: T)
        for t in max(0, targetStart - 1)..<max(0, targetEnd - 1) where t + 1 < tokens.count { targets[t] = Int32(tokens[t + 1]) }
        return targets
    }

    /// Counted target tokens.
    public var targetCount: Int { max(0, targetEnd - max(1, targetStart)) }
}

/// Reading SFT JSONL into examples.
public enum SFTData {
    /// Reads `path`. Each line is one of:
    /// 1. {"prompt_ids": [..], "target_ids": [..]}: token ids as given (no tokenizer needed);
    /// 2. {"prompt": "...", "completion": "..."} (or "target"/"response"): a user turn and the assistant's answer;
    /// 3. {"messages": [{"role", "content"}, ...]}: the loss is on the last message, which must be the assistant's.
    /// Text goes through the model's chat template; without one, prompt + target + eos.
    /// Token ids must lie in 0..<`vocabularySize` when it is given. Examples longer than `maxLength` follow `fit`; the
    /// line numbers of those dropped go to `dropped`.
    public static func load(path: String, tokenizer: Tokenizer?, maxLength: Int, vocabularySize: Int? = nil,
                            dropped: inout [Int]) throws -> [SFTExample] {
        let records: [JSONLine]
        do {
            records = try JSONLines.read(path: path)
        } catch let FileError.badLine(_, line, detail) {
            throw TrainingError.badData(path: path, line: line, reason: detail)
        } catch let FileError.io(_, detail) {
            throw TrainingError.emptyData(path: path, reason: detail)
        }
        var examples: [SFTExample] = []
        var ids: [String: Int] = [:]
        for record in records {
            let object = record.object, number = record.number
            switch object["id"] {
            case nil: break
            case .string(let id)?:
                if let first = ids.updateValue(number, forKey: id) {
                    throw TrainingError.badData(path: path, line: number, reason: "id '\(id.prefix(60))' is also on line \(first); ids must be unique")
                }
            default:
                throw TrainingError.badData(path: path, line: number, reason: "\"id\" must be a string")
            }
            var example: SFTExample
            if object["prompt_ids"] != nil || object["target_ids"] != nil {
                guard let prompt = TokenBatch.ids(fromJSON: object["prompt_ids"]) else {
                    throw TrainingError.badData(path: path, line: number, reason: "\"prompt_ids\" must be an array of integer token ids")
                }
                guard let target = TokenBatch.ids(fromJSON: object["target_ids"]) else {
                    throw TrainingError.badData(path: path, line: number, reason: "\"target_ids\" must be an array of integer token ids")
                }
                let ids = prompt + target
                if let vocabularySize, let bad = ids.first(where: { !(0..<vocabularySize).contains($0) }) {
                    let field = prompt.contains(bad) ? "prompt_ids" : "target_ids"
                    throw TrainingError.badData(path: path, line: number,
                                                reason: "\"\(field)\" holds id \(bad), outside the vocabulary (0..<\(vocabularySize))")
                }
                example = SFTExample(tokens: ids, targetStart: prompt.count, targetEnd: ids.count)
            } else {
                guard let tokenizer else {
                    throw TrainingError.badData(path: path, line: number, reason: "text data needs the model's tokenizer.json")
                }
                let messages: [ChatMessage]
                if object["messages"] != nil {
                    do {
                        messages = try ChatMessage.dataList(fromJSON: object["messages"])
                    } catch {
                        throw TrainingError.badData(path: path, line: number, reason: "\(error)")
                    }
                } else if let prompt = object["prompt"]?.stringValue,
                          let target = (object["completion"] ?? object["target"] ?? object["response"])?.stringValue {
                    messages = [ChatMessage(role: "user", content: prompt), ChatMessage(role: "assistant", content: target)]
                } else {
                    throw TrainingError.badData(path: path, line: number,
                                                reason: "needs \"prompt\" + \"completion\", \"messages\", or \"prompt_ids\" + \"target_ids\"")
                }
                guard messages.count >= 2, messages.last?.role == "assistant" else {
                    throw TrainingError.badData(path: path, line: number, reason: "the last message must be the assistant's, after a prompt")
                }
                do {
                    example = try encode(messages, tokenizer: tokenizer)
                } catch {
                    throw TrainingError.badData(path: path, line: number, reason: "\(error)")
                }
            }
            guard example.targetEnd > example.targetStart, example.targetStart > 0 else {
                throw TrainingError.badData(path: path, line: number, reason: "an empty prompt or target")
            }
            guard let fitted = fit(example, maxLength: maxLength) else {
                dropped.append(number)
                continue
            }
            examples.append(fitted)
        }
        if examples.isEmpty {
            throw TrainingError.emptyData(path: path, reason: dropped.isEmpty ? "no examples"
                                          : "no examples: every prompt alone reaches max_length \(maxLength)")
        }
        return examples
    }

    /// The rule every trainer applies to an example longer than `maxLength`: it is cut at the end (the target loses
    /// its last tokens); one whose prompt alone fills `maxLength` has nothing left to learn from and is dropped (nil).
    /// The trainers count the dropped ones and name their first lines (`droppedWarning`).
    public static func fit(_ example: SFTExample, maxLength: Int) -> SFTExample? {
        guard example.tokens.count > maxLength else { return example }
        var cut = example
        cut.tokens.removeLast(example.tokens.count - maxLength)
        cut.targetEnd = min(example.targetEnd, maxLength)
        return cut.targetEnd > max(1, cut.targetStart) ? cut : nil
    }

    /// "3 examples of F dropped: their prompt alone reaches max_length 384 (lines 4, 9, 17)", or nil for none.
    public static func droppedWarning(path: String, lines: [Int], maxLength: Int) -> String? {
        guard !lines.isEmpty else { return nil }
        let first = lines.prefix(5).map(String.init).joined(separator: ", ") + (lines.count > 5 ? ", …" : "")
        return "\(lines.count) example\(lines.count == 1 ? "" : "s") of \(path) dropped: the prompt alone reaches "
            + "max_length \(maxLength) (line\(lines.count == 1 ? "" : "s") \(first))"
    }

    /// Tokens of a conversation, with the loss span on the last (assistant) message through its end-of-turn token.
    public static func encode(_ messages: [ChatMessage], tokenizer: Tokenizer) throws -> SFTExample {
        let endOfTurn = Set(tokenizer.eosTokenIds)
        guard tokenizer.chatTemplate != nil else {
            let prompt = tokenizer.encodeIds(messages.dropLast().map(\.content).joined(separator: "\n"), addSpecialTokens: true)
            var target = tokenizer.encodeIds(messages.last!.content, addSpecialTokens: false)
            if let eos = tokenizer.eosTokenId { target.append(eos) }
            return SFTExample(tokens: prompt + target, targetStart: prompt.count, targetEnd: prompt.count + target.count)
        }
        // As transformers' apply_chat_template(tokenize=True): the template writes any BOS itself.
        let promptText = try tokenizer.applyChatTemplate(messages: Array(messages.dropLast()), addGenerationPrompt: true)
        let fullText = try tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: false)
        let prompt = tokenizer.encodeIds(promptText, addSpecialTokens: false)
        let full = tokenizer.encodeIds(fullText, addSpecialTokens: false)
        var start = 0
        while start < min(prompt.count, full.count), prompt[start] == full[start] { start += 1 }
        var end = full.count
        if let stop = full[start...].firstIndex(where: endOfTurn.contains) { end = stop + 1 }
        return SFTExample(tokens: full, targetStart: start, targetEnd: end)
    }

    /// Splits off a held-out set: the last `fraction` of a seeded shuffle (at least one example when there are two).
    public static func split(_ examples: [SFTExample], fraction: Double, seed: UInt64) -> (train: [SFTExample], eval: [SFTExample]) {
        guard fraction > 0, examples.count >= 2 else { return (examples, []) }
        var rng = SplitMix64(seed: seed ^ 0xE7A1)
        let order = Array(examples.indices).shuffled(using: &rng)
        let held = max(1, Int((Double(examples.count) * fraction).rounded()))
        return (order.dropLast(held).map { examples[$0] }, order.suffix(held).map { examples[$0] })
    }
}

/// Where the trainer is in the data: epoch and position in that epoch's seeded permutation (checkpointed).
public struct DataCursor: Codable, Sendable, Equatable {
    public var epoch = 0
    public var position = 0

    public init(epoch: Int = 0, position: Int = 0) {
        self.epoch = epoch
        self.position = position
    }

    /// The next `count` example indices, continuing into the next epoch's permutation as needed.
    public mutating func next(_ count: Int, of total: Int, seed: UInt64) -> [Int] {
        var result: [Int] = []
        var order = Self.permutation(epoch: epoch, count: total, seed: seed)
        while result.count < count {
            if position == total {
                epoch += 1
                position = 0
                order = Self.permutation(epoch: epoch, count: total, seed: seed)
            }
            result.append(order[position])
            position += 1
        }
        return result
    }

    static func permutation(epoch: Int, count: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        return Array(0..<count).shuffled(using: &rng)
    }
}

/// Right-padded batch of examples with next-token targets (−1 on context and padding).
public func makeBatch(_ examples: [SFTExample], padId: Int) -> (batch: TokenBatch, targets: [Int32]) {
    let batch = TokenBatch(sequences: examples.map(\.tokens), padding: .right, padId: padId)
    var targets: [Int32] = []
    targets.reserveCapacity(batch.ids.count)
    for example in examples { targets += example.targets(length: batch.length) }
    return (batch, targets)
}
