import Common
import Foundation
import Testing
@testable import Report

@Suite("Report of a comparison")
struct ComparisonTests {
    /// Task metric per step of each seed: token seeds reach 0.9 at steps 3, 4, 5; scalar seed 0 at step 8, the others
    /// never within 10 steps.
    static let reach = ["token": [3, 4, 5], "scalar": [8, nil, nil]]

    static func taskMetric(mode: String, seed: Int, step: Int) -> Double {
        guard let at = reach[mode]![seed] else { return 0.5 + 0.01 * Double(step) }
        return step >= at ? 0.9 + 0.001 * Double(step) : 0.1 * Double(step) / Double(at)
    }

    /// The demo's layout: stage folders, one run per mode and seed under ppo/, the RM's evaluation under rm/.
    static func tree() throws -> SyntheticTree {
        let tree = try SyntheticTree("compare")
        for mode in ["scalar", "token"] {
            for seed in 0..<3 {
                let metrics = (1...10).map { step in
                    SyntheticTree.record(step: step) { key in
                        switch key {
                        case "objective/task_metric": return taskMetric(mode: mode, seed: seed, step: step)
                        case "objective/scores":
                            return Double(seed + 1) * 0.125 * Double(step) + (mode == "token" ? 1 : 0)
                        default: return 0.01 * Double(step * (seed + 1))
                        }
                    }
                }
                let samples = [SyntheticTree.sample(step: 1, id: "p", pieces: [("a", -1)]),
                               SyntheticTree.sample(step: 10, id: "p", pieces: [("b", 1)])]
                // Seed 2 as the demo lays it out: the stage folder with the run inside.
                let path = "ppo/ppo-\(mode)-seed\(seed)" + (seed == 2 ? "/run" : "")
                try tree.run(path, mode: mode, seed: seed, metrics: metrics, samples: samples)
            }
        }
        // Runs of other stages: an SFT run (no reward_mode) is not a policy run.
        try tree.run("sft", mode: nil, metrics: [["step": 1, "loss": 2.5]])
        try tree.run("rm", mode: nil, metrics: [["step": 1, "loss": 1.5]])
        let measures = ["spans_exact": ["precision": 0.5, "recall": 0.25, "f1": 1.0 / 3],
                        "spans_overlap": ["precision": 0.75, "recall": 0.5, "f1": 0.6],
                        "tokens": ["precision": 0.8, "recall": 0.7, "f1": 0.7466666]]
        let summary: [String: Any] = ["items": 12, "parse_failure_rate": 0.0833, "unmatched_span_rate": 0.02,
                                      "labels": ["good_spans": measures, "poor_spans": measures]]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: summary), as: UTF8.self)
        try tree.write(json, to: "rm/rm-eval.json")
        return tree
    }

    @Test func groupsRunsByRewardModeAndSkipsOtherStages() throws {
        let tree = try Self.tree()
        defer { tree.remove() }
        let data = try ReportData.load(path: tree.root)
        #expect(data.groups.map(\.mode) == ["token", "scalar"])
        #expect(data.groups[0].runs.map(\.name) == (0..<3).map { "ppo/ppo-token-seed\($0)" })
        #expect(data.groups[1].runs.map(\.seed) == [0, 1, 2])
        #expect(data.runs.count == 6)
        #expect(data.rewardModelEvaluation?.rows.count == 6)
        #expect(data.runs[0].settings.first { $0.key == "lora_targets" }?.value == "q_proj, v_proj")
    }

    @Test func meanAndBandOverSeeds() throws {
        let tree = try Self.tree()
        defer { tree.remove() }
        let data = try ReportData.load(path: tree.root)
        let html = ReportPage.html(data)
        let chart = try #require(Markup.chart(html, key: "objective/scores"))
        let lines = Markup.tags(chart, "polyline", class: "mean")
        #expect(lines.map { Markup.attribute("data-group", $0) } == ["token-level", "scalar"])
        #expect(Markup.tags(chart, "polygon", class: "band").count == 2)
        for (line, group) in zip(lines, data.groups) {
            #expect(Markup.points(line).count == 10)
            let perSeed = group.runs.map { run in run.metrics.series("objective/scores").map(\.value) }
            let mean = (0..<10).map { i in perSeed.map { $0[i] }.reduce(0, +) / 3 }
            #expect(Markup.numbers(Markup.attribute("data-values", line)) == mean)
            let lows = (0..<10).map { i in perSeed.map { $0[i] }.min()! }
            let highs = (0..<10).map { i in perSeed.map { $0[i] }.max()! }
            #expect(Markup.numbers(Markup.attribute("data-min", line)) == lows)
            #expect(Markup.numbers(Markup.attribute("data-max", line)) == highs)
        }
        // Seed 2 of token logs 3·0.125·step + 1 at step 10: the band's top at the last step.
        #expect(Markup.numbers(Markup.attribute("data-max", lines[0])).last == 4.75)
        let band = Markup.points(Markup.tags(chart, "polygon", class: "band")[0])
        #expect(band.count == 20)
        #expect(chart.contains("token-level: 2.5 (1.75–3.25, 3 runs)"))
    }

    @Test func verdictCountsStepsToTheTarget() throws {
        let tree = try Self.tree()
        defer { tree.remove() }
        let data = try ReportData.load(path: tree.root)
        let verdict = try #require(data.verdict())
        #expect(verdict.metric == "objective/task_metric")
        #expect(verdict.entries.map(\.stepsToTarget) == [[3, 4, 5], [8, nil, nil]])
        #expect(verdict.line == "Steps to objective/task_metric ≥ 0.9: token-level in 4.0 ± 1.0 steps (3 seeds), "
            + "final 0.910 ± 0.000; scalar in 8.0 ± 0.0 steps (1 of 3 seeds; the others not within 10 steps), "
            + "final 0.703 ± 0.179")
        let html = ReportPage.html(data)
        #expect(html.contains("<p class=\"verdict\">\(HTML.escape(verdict.line))</p>"))
        var options = ReportOptions()
        options.target = 0.95
        #expect(data.verdict(options: options)?.line == "Steps to objective/task_metric ≥ 0.95: "
            + "token-level: not reached within 10 steps, final 0.910 ± 0.000; "
            + "scalar: not reached within 10 steps, final 0.703 ± 0.179")
        // The held-out metric is preferred when every run evaluated at least twice.
        var runs = data.runs
        for i in runs.indices {
            runs[i].metrics.set(step: 5, ["eval/task_metric": 0.5])
            runs[i].metrics.set(step: 10, ["eval/task_metric": 0.95])
        }
        #expect(Verdict.defaultMetric(runs) == "eval/task_metric")
        #expect(Verdict.compute(groups: RunGroup.grouping(runs), metric: "eval/task_metric", target: 0.9).line
            == "Steps to eval/task_metric ≥ 0.9: token-level in 10.0 ± 0.0 steps (3 seeds), final 0.950 ± 0.000; "
            + "scalar in 10.0 ± 0.0 steps (3 seeds), final 0.950 ± 0.000")
        // A single seed per mode reads as a plain count.
        let one = RunGroup.grouping([data.groups[0].runs[0], data.groups[1].runs[0]])
        #expect(Verdict.compute(groups: one, metric: "objective/task_metric", target: 0.9).line
            == "Steps to objective/task_metric ≥ 0.9: token-level in 3 steps, final 0.910; scalar in 8 steps, final 0.910")
    }

    @Test func runsOfTwoCriticsGroupByCriticThenMode() throws {
        let tree = try SyntheticTree("critics")
        defer { tree.remove() }
        for critic in ["builtin", "rm"] {
            for mode in ["scalar", "token"] {
                for seed in 0..<2 {
                    let metrics = (1...4).map { step in
                        SyntheticTree.record(step: step) { key in
                            key == "objective/task_metric" ? (critic == "builtin" && mode == "token" ? 0.25 * Double(step) : 0.1) : 0
                        }
                    }
                    try tree.run("ppo-\(critic)-\(mode)-seed\(seed)", mode: mode, seed: seed, reward: critic, metrics: metrics)
                }
            }
        }
        let data = try ReportData.load(path: tree.root)
        #expect(data.groups.map(\.title) == ["token-level, reward model", "scalar, reward model",
                                             "token-level, built-in critic", "scalar, built-in critic"])
        #expect(data.groups.allSatisfy { $0.runs.count == 2 && Set($0.runs.map(\.reward)).count == 1 })
        #expect(Palette.colors(data.groups).count == Set(Palette.colors(data.groups)).count, "every group its own colour")
        var options = ReportOptions()
        options.target = 1
        let verdict = try #require(data.verdict(options: options))
        #expect(verdict.entries.map(\.stepsToTarget) == [[nil, nil], [nil, nil], [4, 4], [nil, nil]])
        #expect(verdict.line.contains("token-level, built-in critic in 4.0 ± 0.0 steps (2 seeds), final 1.000 ± 0.000"))
        // Runs of one critic keep the plain titles.
        let one = RunGroup.grouping(data.runs.filter { $0.reward == "rm" })
        #expect(one.map(\.title) == ["token-level", "scalar"])
    }

    @Test func rewardModelsOfEachTargetFormatAreTheirOwnGroups() throws {
        let tree = try SyntheticTree("targets")
        defer { tree.remove() }
        // A format saved with the run (rm_target), or, for a run saved without it, beside its reward model.
        try tree.write(#"{"task": "summarization", "target": "spans"}"#, to: "rm-spans/reward_model.json")
        let runs: [(String, String)] = [("critique", ""), ("dense", "rm_target: dense\n"),
                                        ("spans", "reward_model: \(tree.root)/rm-spans\n")]
        for (name, extra) in runs {
            let metrics = (1...2).map { step in SyntheticTree.record(step: step) { _ in 0.5 } }
            try tree.run("ppo-\(name)", reward: "rm", metrics: metrics, extra: extra)
        }
        let data = try ReportData.load(path: tree.root)
        #expect(data.groups.map(\.title)
            == ["token-level, reward model", "token-level, reward model (dense)", "token-level, reward model (spans)"])
    }

    @Test func rewardModelEvaluationTable() throws {
        let tree = try Self.tree()
        defer { tree.remove() }
        let html = ReportPage.html(try ReportData.load(path: tree.root))
        let section = try #require(html.components(separatedBy: "<section class=\"rm\">").dropFirst().first)
        let rows = section.components(separatedBy: "</section>")[0].components(separatedBy: "<tr>").dropFirst()
        #expect(rows.count == 7)
        #expect(rows.dropFirst().first?.hasPrefix("<td>good_spans</td><td>spans_exact</td><td class=\"num\" "
            + "data-value=\"0.5\">0.500</td><td class=\"num\" data-value=\"0.25\">0.250</td>") == true)
        #expect(section.contains("12 held-out items · parse failures 8.3% · unmatched spans 2.0%"))
    }

    @Test func badInputIsNamed() throws {
        let tree = try SyntheticTree("bad")
        defer { tree.remove() }
        #expect(throws: ReportError.noRuns(path: tree.root)) { try ReportData.load(path: tree.root) }
        try tree.run("run", metrics: [["step": 1, "loss": 1.0]])
        try tree.write("{\"step\": 1, \"loss\": 1}\n{\"loss\": 2}\n", to: "run/metrics.jsonl")
        #expect(throws: FileError.badLine(path: tree.root + "/run/metrics.jsonl", line: 2,
                                          detail: "'step' must be an integer ≥ 0")) {
            try ReportData.load(path: tree.root)
        }
        try tree.write("{\"step\": 1, \"loss\": 1}\n", to: "run/metrics.jsonl")
        try tree.write("{\"step\": 1, \"response\": \"x\", \"tokens\": [{\"id\": 3}]}\n", to: "run/samples.jsonl")
        #expect(throws: FileError.badLine(path: tree.root + "/run/samples.jsonl", line: 1,
                                          detail: "tokens[0] needs a string 'text'")) {
            try ReportData.load(path: tree.root)
        }
        try tree.write("{\"labels\": {\"good_spans\": {\"tokens\": {\"precision\": 1}}}}", to: "rm-eval.json")
        try tree.write("", to: "run/samples.jsonl")
        #expect(throws: ReportError.self) { try ReportData.load(path: tree.root) }
        // config.yaml is read with train-policy's own type: a key it never writes is named with the file.
        try FileManager.default.removeItem(atPath: tree.root + "/rm-eval.json")
        try tree.write("reward_mod: token\n", to: "run/config.yaml")
        do {
            _ = try ReportData.load(path: tree.root)
            Issue.record("a config.yaml train-policy cannot have written was read")
        } catch {
            #expect("\(error)".contains(tree.root + "/run/config.yaml") && "\(error)".contains("'reward_mod'"),
                    "\(error)")
        }
    }

    @Test func writesTheFile() throws {
        let tree = try Self.tree()
        defer { tree.remove() }
        let output = tree.root + "/report.html"
        try ReportData.load(path: tree.root).writeReport(to: output)
        let html = try String(contentsOfFile: output, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        // Self-contained: nothing to fetch.
        for reference in ["src=", "href=", "@import", "url("] { #expect(!html.contains(reference), "\(reference)") }
    }
}
