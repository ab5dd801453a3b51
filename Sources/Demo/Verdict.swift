import Foundation
import PolicyOptimization
import Training

/// The demo's one-line answer: how many PPO steps each reward mode took to first reach a held-out fact accuracy,
/// mean ± standard deviation over seeds, and the final accuracies.
public struct Verdict: Sendable, Equatable {
    public struct Mode: Sendable, Equatable {
        /// Steps to the target per seed (nil: not reached within the budget).
        public var steps: [Int?]
        /// The last evaluation's accuracy per seed.
        public var final: [Double]
    }

    public var target: Double
    public var modes: [RewardMode: Mode]

    /// Reads `eval/task_metric` from each run's metrics.jsonl.
    public init(runs: [RewardMode: [String]], target: Double) throws {
        self.target = target
        var modes: [RewardMode: Mode] = [:]
        for (mode, directories) in runs {
            var steps: [Int?] = [], final: [Double] = []
            for directory in directories {
                let records = try MetricsLog.records(path: directory + "/metrics.jsonl")
                let evaluated = records.keys.sorted().compactMap { step in records[step]?["eval/task_metric"].map { (step, $0) } }
                steps.append(evaluated.first { $0.1 >= target }?.0)
                final.append(evaluated.last?.1 ?? .nan)
            }
            modes[mode] = Mode(steps: steps, final: final)
        }
        self.modes = modes
    }

    /// "token-level reached 90% fact accuracy in 12 ± 3 steps (3/3 seeds), scalar in 20 ± 5 (2/3 seeds); final 0.93 vs 0.88".
    public var line: String {
        func describe(_ mode: RewardMode) -> String {
            guard let m = modes[mode] else { return "\(mode.rawValue): no runs" }
            let reached = m.steps.compactMap { $0 }.map(Double.init)
            let finals = m.final.filter(\.isFinite)
            let final = finals.isEmpty ? "n/a" : String(format: "%.3f", finals.reduce(0, +) / Double(finals.count))
            guard !reached.isEmpty else { return "\(mode.rawValue)-level did not reach it (final \(final))" }
            let mean = reached.reduce(0, +) / Double(reached.count)
            let sd = reached.count > 1
                ? (reached.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(reached.count - 1)).squareRoot() : 0
            return String(format: "%@-level reached it in %.1f ± %.1f steps (%d/%d seeds, final %@)", mode.rawValue, mean, sd,
                          reached.count, m.steps.count, final)
        }
        return String(format: "target %.0f%% held-out fact accuracy: ", target * 100) + describe(.token) + "; " + describe(.scalar)
    }
}
