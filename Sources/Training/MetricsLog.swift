import Foundation

/// `metrics.jsonl`: one JSON object per optimizer step (`step`, `loss`, `lr`, `grad_norm`, `tokens`, `seconds`,
/// and `eval_loss` when evaluated). On resume, lines past the checkpoint's step are dropped so the file reads
/// as one uninterrupted run.
public final class MetricsLog {
    public let path: String
    private let handle: FileHandle

    public init(path: String, keepThrough step: Int) throws {
        self.path = path
        let fm = FileManager.default
        var kept = ""
        if step > 0, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = (object["step"] as? NSNumber)?.intValue, s <= step else { continue }
                kept += line + "\n"
            }
        }
        guard fm.createFile(atPath: path, contents: Data(kept.utf8)), let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainingError.cannotWrite(path: path, reason: "cannot create the file")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// Appends one step's line and flushes it to the file.
    public func append(_ m: StepMetrics) throws {
        var object: [String: Any] = [
            "step": m.step, "loss": m.loss, "lr": m.learningRate, "grad_norm": m.gradientNorm, "tokens": m.tokens,
            "seconds": m.seconds,
        ]
        if let evalLoss = m.evalLoss { object["eval_loss"] = evalLoss }
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(0x0A)
        handle.write(data)
        try handle.synchronize()
    }

    /// The logged losses by step (for tests and summaries).
    public static func losses(path: String) throws -> [Int: Double] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var losses: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = (object["step"] as? NSNumber)?.intValue, let loss = (object["loss"] as? NSNumber)?.doubleValue
            else { continue }
            losses[step] = loss
        }
        return losses
    }
}

/// A one-line progress bar on a terminal, plain lines otherwise (logs, CI).
public struct ProgressDisplay {
    public let total: Int
    public let isTerminal: Bool

    public init(total: Int) {
        self.total = total
        isTerminal = isatty(2) != 0
    }

    /// The line for one step.
    public func line(_ m: StepMetrics) -> String {
        var text = String(format: "step %d/%d  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s", m.step, total, m.loss,
                          m.learningRate, m.gradientNorm, Double(m.tokens) / max(m.seconds, 1e-9))
        if let evalLoss = m.evalLoss { text += String(format: "  eval-loss %.4f", evalLoss) }
        return text
    }

    /// Writes the step to standard error: a redrawn bar on a terminal, one line per step otherwise.
    public func show(_ m: StepMetrics) {
        if isTerminal {
            let width = 24, filled = width * m.step / max(1, total)
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(line(m))\(m.step == total ? "\n" : "")".utf8))
        } else {
            FileHandle.standardError.write(Data((line(m) + "\n").utf8))
        }
    }
}
