import Foundation

/// A metric at one step over a group's runs: mean, min, max and the sample standard deviation.
public struct SeriesPoint: Sendable, Equatable {
    public var step: Int
    public var mean: Double
    public var min: Double
    public var max: Double
    /// 0 for a single run.
    public var std: Double
    /// How many runs logged the metric at this step.
    public var count: Int
}

/// The runs of one reward mode and critic (the seeds of one arm of a comparison).
public struct RunGroup: Sendable {
    /// token, scalar, or "run" when the config does not say.
    public var mode: String
    /// The critic that rewarded the runs (config.yaml's `reward`) when the runs of one report come from more than
    /// one; nil otherwise.
    public var critic: String?
    /// Ordered by seed, then name.
    public var runs: [PolicyRun]

    /// Groups runs by reward mode (token first, then scalar, then any other in name order) and, when they name more
    /// than one critic, by critic first (the trained reward model, then the built-in critic, then others by name).
    public static func grouping(_ runs: [PolicyRun]) -> [RunGroup] {
        let modeRank = ["token": 0, "scalar": 1], sourceRank = ["rm": 0, "builtin": 1]
        func criticRank(_ critic: String) -> Int? { sourceRank[String(critic.prefix { $0 != " " })] }
        let critics = Set(runs.map { $0.reward ?? "" })
        let split = critics.count > 1
        func key(_ run: PolicyRun) -> (critic: String?, mode: String) { (split ? run.reward ?? "" : nil, run.rewardMode) }
        var keys: [(critic: String?, mode: String)] = []
        for run in runs where !keys.contains(where: { $0 == key(run) }) { keys.append(key(run)) }
        keys.sort { a, b in
            let ca = a.critic ?? "", cb = b.critic ?? ""
            return (criticRank(ca) ?? 2, ca, modeRank[a.mode] ?? 2, a.mode)
                < (criticRank(cb) ?? 2, cb, modeRank[b.mode] ?? 2, b.mode)
        }
        return keys.map { k in
            RunGroup(mode: k.mode, critic: k.critic, runs: runs.filter { key($0) == k }.sorted {
                ($0.seed ?? Int.min, $0.name) < ($1.seed ?? Int.min, $1.name)
            })
        }
    }

    /// What the report calls the group: "token-level", "scalar", or the mode's name, then the critic when there are
    /// several ("token-level, built-in critic", "token-level, reward model (dense)").
    public var title: String {
        let name: String
        switch mode {
        case "token": name = "token-level"
        case "scalar": name = "scalar"
        default: name = mode
        }
        guard let critic else { return name }
        let parts = critic.split(separator: " ", maxSplits: 1).map(String.init)
        if parts.count == 2, parts[0] == "rm" { return name + ", reward model (\(parts[1]))" }
        switch critic {
        case "rm": return name + ", reward model"
        case "builtin": return name + ", built-in critic"
        case "": return name + ", critic unnamed"
        default: return name + ", " + critic
        }
    }

    /// The metric per step over the runs that logged it at that step.
    public func series(_ key: String) -> [SeriesPoint] {
        var byStep: [Int: [Double]] = [:]
        for run in runs {
            for (step, value) in run.metrics.series(key) { byStep[step, default: []].append(value) }
        }
        return byStep.keys.sorted().map { step in
            let values = byStep[step]!
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.count > 1
                ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
            return SeriesPoint(step: step, mean: mean, min: values.min()!, max: values.max()!,
                               std: variance.squareRoot(), count: values.count)
        }
    }

    /// Whether any run logged the metric.
    public func has(_ key: String) -> Bool { runs.contains { $0.metrics.has(key) } }
}

/// How many steps each reward mode took to first reach a target of a metric, over its seeds.
public struct Verdict: Sendable, Equatable {
    /// One group's outcome.
    public struct Entry: Sendable, Equatable {
        public var mode: String
        public var title: String
        /// Per run, the first step whose value is ≥ the target, or nil.
        public var stepsToTarget: [Int?]
        /// The last logged step of the metric over the group's runs (the budget a "not reached" had).
        public var budget: Int
        /// Per run, the metric's last logged value.
        public var finals: [Double] = []

        /// The steps of the runs that reached the target.
        public var reached: [Int] { stepsToTarget.compactMap { $0 } }
        /// The mean over the runs that reached it.
        public var mean: Double? {
            reached.isEmpty ? nil : Double(reached.reduce(0, +)) / Double(reached.count)
        }
        /// The sample standard deviation over the runs that reached it (0 for one run).
        public var std: Double? {
            guard let mean else { return nil }
            guard reached.count > 1 else { return 0 }
            let squares = reached.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
            return (squares / Double(reached.count - 1)).squareRoot()
        }

        /// The metric's last value: the mean and sample standard deviation over the runs, "0.782 ± 0.011" (one run:
        /// its value).
        public var final: String? {
            guard let first = finals.first else { return nil }
            guard finals.count > 1 else { return String(format: "%.3f", first) }
            let mean = finals.reduce(0, +) / Double(finals.count)
            let variance = finals.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / Double(finals.count - 1)
            return String(format: "%.3f ± %.3f", mean, variance.squareRoot())
        }

        /// "token-level in 23.3 ± 4.2 steps (3 seeds), final 0.812 ± 0.004" without the metric.
        public var phrase: String {
            let seeds = stepsToTarget.count, hit = reached.count
            let last = final.map { ", final \($0)" } ?? ""
            guard let mean, let std else { return "\(title): not reached within \(budget) steps" + last }
            let figure = seeds == 1 ? "\(reached[0]) steps" : String(format: "%.1f ± %.1f steps", mean, std)
            var text = "\(title) in \(figure)"
            if seeds > 1 {
                text += hit == seeds ? " (\(seeds) seeds)"
                    : " (\(hit) of \(seeds) seeds; the other\(seeds - hit > 1 ? "s" : "") not within \(budget) steps)"
            }
            return text + last
        }
    }

    public var metric: String
    public var target: Double
    public var entries: [Entry]

    /// The metric's first step ≥ target for every run of every group.
    public static func compute(groups: [RunGroup], metric: String, target: Double) -> Verdict {
        Verdict(metric: metric, target: target, entries: groups.map { group in
            Entry(mode: group.mode, title: group.title,
                  stepsToTarget: group.runs.map { run in
                      run.metrics.series(metric).first { $0.value >= target }?.step
                  },
                  budget: group.runs.compactMap { $0.metrics.series(metric).last?.step }.max() ?? 0,
                  finals: group.runs.compactMap { $0.metrics.series(metric).last?.value })
        })
    }

    /// The metric a verdict uses by default: the held-out task metric when every run evaluated it at least twice,
    /// else the rollouts' task metric, else the critic's score.
    public static func defaultMetric(_ runs: [PolicyRun]) -> String {
        if runs.allSatisfy({ $0.metrics.series("eval/task_metric").count >= 2 }) { return "eval/task_metric" }
        if runs.contains(where: { $0.metrics.has("objective/task_metric") }) { return "objective/task_metric" }
        return "objective/scores"
    }

    /// "Steps to objective/task_metric ≥ 0.9: token-level in 23.3 ± 4.2 steps (3 seeds), scalar in …".
    public var line: String {
        "Steps to \(metric) ≥ \(compact(target)): " + entries.map(\.phrase).joined(separator: "; ")
    }
}

/// A number as short as it reads back (0.9, 12, 1e-05).
func compact(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : x.description
}
