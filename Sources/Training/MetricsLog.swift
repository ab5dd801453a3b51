import Common
import Foundation
import JSON

/// `metrics.jsonl`: one JSON object per step, `step` plus open, namespaced keys (`loss`, `lr`, `grad_norm`,
/// `objective/kl`, `loss/policy_avg`, `time/rollout`, ...), whatever the objective reports. On resume, lines
/// past the checkpoint's step are dropped, so the file reads as one uninterrupted run.
public final class MetricsLog {
    /// The file's path.
    public var path: String { file.path }
    let file: StepFile

    /// Opens `path`, keeping only the lines of steps ≤ `step` (0: a fresh file).
    public init(path: String, keepThrough step: Int) throws {
        file = try StepFile(path: path, keepThrough: step)
    }

    /// Appends one step's record (sorted keys; non-finite values are written as null) and flushes it.
    public func append(step: Int, _ values: [String: Double]) throws {
        var object: JSONValue = ["step": JSONValue(step)]
        for (key, value) in values { object[key] = value.isFinite ? JSONValue(value) : .null }
        try file.append(object)
    }

    /// Every record of a metrics file by step (for tests, summaries and reports). A line that is not JSON (a torn
    /// last line) or a file that is not UTF-8 is an error; a line without a `step` is skipped.
    public static func records(path: String) throws -> [Int: [String: Double]] {
        var records: [Int: [String: Double]] = [:]
        for line in JSONLines.lines(Data(try InputFile.text(path: path).utf8), dropsByteOrderMark: false) {
            guard let members = try JSONValue.parse([UInt8](line.bytes)).objectValue,
                  let step = members.first(where: { $0.key == "step" })?.value.intValue else { continue }
            var values: [String: Double] = [:]
            for (key, value) in members where key != "step" {
                if let number = value.numberValue { values[key] = number }
            }
            records[step] = values
        }
        return records
    }

    /// The logged `loss` by step.
    public static func losses(path: String) throws -> [Int: Double] {
        try records(path: path).compactMapValues { $0["loss"] }
    }
}

/// A JSONL file of per-step objects (`metrics.jsonl`, `samples.jsonl`): reopened on resume with the lines of
/// later steps dropped, each append flushed.
public final class StepFile {
    public let path: String
    private let file: JSONLWriter

    /// Opens `path`, keeping only the lines whose `step` is ≤ `step` (0: a fresh file). A file that is not UTF-8
    /// starts fresh; a line that is not an object with a `step` (a torn last line) is dropped.
    public init(path: String, keepThrough step: Int) throws {
        self.path = path
        var kept = Data()
        if step > 0, let data = try? InputFile.read(path: path), String(data: data, encoding: .utf8) != nil {
            for line in JSONLines.lines(data, dropsByteOrderMark: false) {
                guard case .success(let object) = JSONLines.object(line.bytes),
                      let s = object["step"]?.intValue, s <= step else { continue }
                kept += line.bytes + [0x0A]
            }
        }
        guard FileManager.default.createFile(atPath: path, contents: kept),
              let file = try? JSONLWriter(appendingTo: path)
        else { throw TrainingError.cannotWrite(path: path, reason: "cannot create the file") }
        self.file = file
    }

    /// Appends one object as a line (sorted keys) and flushes it to the file. A write that fails (a full disk) is
    /// cut back off, so the file keeps only whole lines and a resumed run appends after the last one.
    public func append(_ object: JSONValue) throws {
        let data = Data((JSONLines.encode(object) + "\n").utf8)
        let end = file.length() ?? 0
        do {
            try file.append(data)
            try file.synchronize()
        } catch {
            file.truncate(to: end)
            throw TrainingError.cannotWrite(path: path, reason: "\(error)")
        }
    }
}
