import Common
import Foundation
import Spans
import Tokenizers
import Training

/// Annotation records (the output of `annotate` or `critique`) read back, and turned into reward-model data.
public enum RewardModelData {
    /// Reads an annotation JSONL file; a line that is not a record, a repeated id, or a span whose offsets fall
    /// outside its response is an error naming the line and the field.
    public static func records(path: String) throws -> [AnnotationRecord] {
        let decoder = JSONDecoder()
        var records: [AnnotationRecord] = []
        let lines: [JSONLine]
        do {
            lines = try JSONLines.read(path: path)
        } catch let FileError.badLine(_, line, detail) {
            throw RewardModelError.badRecord(path: path, line: line, detail: detail)
        }
        var seen: [String: Int] = [:]
        for line in lines {
            do {
                let record = try decoder.decode(AnnotationRecord.self, from: Data(line.object.serialized().utf8))
                if let first = seen.updateValue(line.number, forKey: record.id) {
                    throw RewardModelError.badRecord(path: path, line: line.number,
                                                     detail: "id '\(record.id.prefix(60))' is also on line \(first); ids must be unique")
                }
                let length = record.response.unicodeScalars.count
                for (i, span) in record.spans.enumerated() {
                    if let start = span.start, !(0...length).contains(start) {
                        throw RewardModelError.badRecord(path: path, line: line.number,
                                                         detail: "'spans[\(i)].start' \(start) is outside the response (0...\(length))")
                    }
                    if let end = span.end, !((span.start ?? 0)...length).contains(end) {
                        throw RewardModelError.badRecord(path: path, line: line.number,
                                                         detail: "'spans[\(i)].end' \(end) is outside \(span.start ?? 0)...\(length)")
                    }
                }
                records.append(record)
            } catch let error as RewardModelError {
                throw error
            } catch let DecodingError.keyNotFound(key, _) {
                throw RewardModelError.badRecord(path: path, line: line.number, detail: "no '\(key.stringValue)'")
            } catch let DecodingError.typeMismatch(_, context) {
                let key = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                throw RewardModelError.badRecord(path: path, line: line.number, detail: "'\(key)' has the wrong type")
            } catch {
                throw RewardModelError.badRecord(path: path, line: line.number, detail: "\(error)")
            }
        }
        if records.isEmpty { throw RewardModelError.noRecords(path: path) }
        return records
    }

    /// The format of the records' task: a built-in task's labels, or for a custom task every (label, score)
    /// its spans use, in order of first appearance. All records must be of one task.
    public static func format(of records: [AnnotationRecord], path: String) throws -> RewardModelFormat {
        guard let first = records.first else { throw RewardModelError.noRecords(path: path) }
        if let other = records.first(where: { $0.task != first.task }) {
            throw RewardModelError.mixedTasks(path: path, first: first.task, other: other.task)
        }
        if let builtin = try? RewardModelFormat.builtin(first.task) { return builtin }
        var labels: [SpanLabel] = []
        for span in records.flatMap(\.spans) where !labels.contains(where: { $0.name == span.label }) {
            labels.append(SpanLabel(name: span.label, score: span.score))
        }
        return RewardModelFormat(task: first.task, labels: labels)
    }

    /// Whether `id` belongs to the held-out split: a stable hash of the id, so the split depends neither on the
    /// file's order nor on what else it holds (`train-rm` and `eval-rm` agree on it).
    public static func isHeldOut(_ id: String, fraction: Double) -> Bool {
        guard fraction > 0 else { return false }
        var fingerprint = Fingerprint()
        fingerprint.add(id.utf8)
        var hash = fingerprint.value
        // FNV's high bits barely move between similar short ids: mix them (SplitMix64's finalizer) first.
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        hash ^= hash >> 31
        return Double(hash >> 11) / Double(1 << 53) < fraction
    }

    /// Tokenized training pairs, loss on the target and its end-of-turn token; longer than `maxLength`, an example
    /// follows `SFTData.fit` (cut, or dropped when its prompt alone fills `maxLength`: those ids are returned).
    public static func examples(
        _ records: [AnnotationRecord], format: RewardModelFormat, tokenizer: Tokenizer, maxLength: Int
    ) throws -> (examples: [SFTExample], droppedSpans: Int, droppedIds: [String]) {
        var examples: [SFTExample] = []
        var dropped = 0, droppedIds: [String] = []
        for record in records {
            let pair = RewardModelExample(record: record, format: format)
            dropped += pair.droppedSpans
            guard let example = SFTData.fit(try SFTData.encode(pair.messages, tokenizer: tokenizer), maxLength: maxLength) else {
                droppedIds.append(record.id)
                continue
            }
            examples.append(example)
        }
        return (examples, dropped, droppedIds)
    }
}
