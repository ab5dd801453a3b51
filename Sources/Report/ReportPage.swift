import Common
import Foundation

/// What the page shows beyond the data: the verdict's target and metric, how many examples.
public struct ReportOptions: Sendable, Equatable {
    /// The verdict's target of its metric (the built-in task: fact accuracy 0.9).
    public var target: Double = 0.9
    /// The verdict's metric (default: `Verdict.defaultMetric`).
    public var verdictMetric: String?
    /// Examples per reward mode from the last step with samples.
    public var examples: Int = 3
    public var title = "text2grad report"

    /// The defaults.
    public init() {}
}

/// The whole report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.
public enum ReportPage {
    /// Renders `data` in page order: the verdict and the curves it rests on, per-token rewards before and after
    /// training, the reward model's evaluation, the runs, diagnostics, the last step's samples, settings.
    public static func html(_ data: ReportData, options: ReportOptions = ReportOptions()) -> String {
        let colors = Palette.colors(data.groups)
        let shown = data.groups.flatMap { group -> [RolloutSample] in
            let samples = group.runs.first?.samples ?? []
            let pair = SampleView.beforeAfter(samples).map { [$0.before, $0.after] } ?? []
            return pair + lastSamples(samples, count: options.examples)
        }
        let view = SampleView(samples: shown)
        var body = "<header class=\"top\"><h1>\(HTML.escape(options.title))</h1><p class=\"where\">"
            + HTML.escape(data.root) + " · \(data.runs.count) run\(data.runs.count == 1 ? "" : "s")</p></header>\n"
        if let verdict = data.verdict(options: options) {
            body += "<p class=\"verdict\">\(HTML.escape(verdict.line))</p>\n"
        }
        body += legend(data.groups, colors)
        let metric = data.verdict(options: options)?.metric
        body += charts(ChartSpec.main, data.groups, colors, kind: "main", target: metric.map { ($0, options.target) })
        body += "<section class=\"tokens\"><h2>Per-token rewards</h2>" + tokenKey(scale: view.scale)
        if shown.isEmpty { body += "<p class=\"none\">No samples.jsonl in these runs.</p>" }
        for group in data.groups {
            guard let run = group.runs.first, let pair = SampleView.beforeAfter(run.samples) else { continue }
            let same = pair.before.id == pair.after.id && !pair.before.id.isEmpty
            body += "<h3>\(HTML.escape(group.title)): before and after <small>\(HTML.escape(run.name))"
                + (pair.before.split == "eval" ? ", the same held-out prompt at the first and last evaluation"
                    : same ? ", the same prompt" : ", first and last samples") + "</small></h3>"
            if same, !pair.before.prompt.isEmpty {
                body += "<details class=\"prompt\"><summary>Prompt \(HTML.escape(pair.before.id))</summary><pre>"
                    + HTML.escape(pair.before.prompt) + "</pre></details>"
            }
            body += "<div class=\"before-after\">" + view.card(pair.before, heading: "before", prompt: !same)
                + view.card(pair.after, heading: "after", prompt: !same) + "</div>\n"
        }
        body += "</section>\n"
        if let evaluation = data.rewardModelEvaluation { body += evaluationTable(evaluation) }
        body += runsTable(data)
        body += charts(ChartSpec.diagnostics, data.groups, colors, kind: "diagnostics", heading: "Diagnostics")
        var examples = ""
        for group in data.groups {
            guard let run = group.runs.first else { continue }
            let samples = lastSamples(run.samples, count: options.examples)
            guard !samples.isEmpty else { continue }
            examples += "<h3>\(HTML.escape(group.title)): the last step's samples "
                + "<small>\(HTML.escape(run.name))</small></h3>"
                + samples.map { view.card($0) }.joined(separator: "\n") + "\n"
        }
        if !examples.isEmpty { body += "<section class=\"examples\"><h2>Examples</h2>\(examples)</section>\n" }
        body += settings(data)
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>\(HTML.escape(options.title)) · \(HTML.escape(data.root))</title>\n"
            + "<style>\(ReportStyle.css)</style>"
            + "</head>\n<body>\n\(body)</body></html>\n"
    }

    /// How to read the shading.
    static func tokenKey(scale: Double) -> String {
        let (g, r) = (SampleView.positive, SampleView.negative)
        return "<p class=\"key\">Each response token is shaded by its reward "
            + "r<sub>t</sub> = s<sub>t</sub> − β·KL<sub>t</sub>: <span class=\"tok pos\" "
            + "style=\"background-color:rgba(\(g.0),\(g.1),\(g.2),0.75)\">green</span> positive, "
            + "<span class=\"tok neg\" style=\"background-color:rgba(\(r.0),\(r.1),\(r.2),0.75)\">red</span> negative, "
            + "stronger for larger |r| (full strength at |r| = \(HTML.short(scale))); <span class=\"tok span-good\">"
            + "underlined</span>: inside a span the critique quoted (in scalar mode the whole reward sits on the last "
            + "token). Hover a token for its score, reward, advantage and value.</p>\n"
    }

    /// Up to `count` samples of the last step that has any.
    static func lastSamples(_ samples: [RolloutSample], count: Int) -> [RolloutSample] {
        let samples = samples.filter { $0.split != "eval" }
        guard let step = samples.map(\.step).max() else { return [] }
        return Array(samples.filter { $0.step == step }.prefix(count))
    }

    /// One row per run: mode, seed, steps and the last logged value of the headline metrics.
    static func runsTable(_ data: ReportData) -> String {
        let keys = ["objective/scores", "objective/task_metric", "eval/task_metric", "objective/kl", "loss"]
            .filter { key in data.runs.contains { $0.metrics.has(key) } }
        var out = "<section class=\"runs\"><h2>Runs</h2><table><thead><tr><th>run</th><th>reward</th><th>seed</th>"
            + "<th>steps</th>" + keys.map { "<th>last \(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for run in data.groups.flatMap(\.runs) {
            out += "<tr><td>\(HTML.escape(run.name))</td><td>\(HTML.escape(run.rewardMode))</td>"
                + "<td>\(run.seed.map(String.init) ?? "–")</td>"
                + "<td>\(run.metrics.steps.last.map(String.init) ?? "–")</td>"
            for key in keys {
                if let (step, value) = run.metrics.last(key) {
                    out += "<td class=\"num\" data-key=\"\(HTML.escape(key))\" data-value=\"\(HTML.exact(value))\" "
                        + "title=\"step \(step): \(HTML.exact(value))\">\(HTML.short(value))</td>"
                } else {
                    out += "<td class=\"num\">–</td>"
                }
            }
            out += "</tr>"
        }
        return out + "</tbody></table></section>\n"
    }

    static func legend(_ groups: [RunGroup], _ colors: [String]) -> String {
        "<p class=\"legend\">" + zip(groups, colors).map { group, color in
            "<span><i style=\"background:\(color)\"></i>\(HTML.escape(group.title)) (\(group.runs.count) "
                + "run\(group.runs.count == 1 ? "" : "s")\(group.runs.count > 1 ? ": mean, band min–max" : ""))</span>"
        }.joined() + "</p>\n"
    }

    /// A figure per spec that some run logged.
    static func charts(
        _ specs: [ChartSpec], _ groups: [RunGroup], _ colors: [String], kind: String, heading: String? = nil,
        target: (key: String, value: Double)? = nil
    ) -> String {
        let present = specs.filter { spec in groups.contains { $0.has(spec.key) } }
        guard !present.isEmpty else { return "" }
        var out = "<section class=\"charts \(kind)\">" + (heading.map { "<h2>\(HTML.escape($0))</h2>" } ?? "")
        out += "<div class=\"grid\">"
        for spec in present {
            let curves = zip(groups, colors).map { group, color in
                LineChart.Curve(label: group.title, color: color, runs: group.runs.count,
                                points: group.series(spec.key))
            }
            var chart = LineChart(spec: spec, curves: curves)
            if let target, target.key == spec.key { chart.target = target.value }
            if kind == "diagnostics" { (chart.width, chart.height, chart.left) = (300, 170, 44) }
            out += "<figure><figcaption><b>\(HTML.escape(spec.title))</b> <code>\(HTML.escape(spec.key))</code> "
                + "<span>\(HTML.escape(spec.note))</span></figcaption>" + chart.svg + "</figure>\n"
        }
        return out + "</div></section>\n"
    }

    /// eval-rm's figures: a row per label and measure, with the failure rates underneath.
    static func evaluationTable(_ e: RMEvaluation) -> String {
        var out = "<section class=\"rm\"><h2>Reward model evaluation</h2><table><thead><tr><th>label</th>"
            + "<th>measure</th><th>precision</th><th>recall</th><th>F1</th></tr></thead><tbody>"
        for row in e.rows {
            out += "<tr><td>\(HTML.escape(row.label))</td><td>\(HTML.escape(row.measure))</td>"
            for value in [row.precision, row.recall, row.f1] {
                out += "<td class=\"num\" data-value=\"\(HTML.exact(value))\">\(String(format: "%.3f", value))</td>"
            }
            out += "</tr>"
        }
        out += "</tbody></table><p class=\"rates\">"
        var facts: [String] = []
        if let items = e.items { facts.append("\(items) held-out items") }
        if let p = e.parseFailureRate { facts.append("parse failures \(String(format: "%.1f%%", 100 * p))") }
        if let u = e.unmatchedSpanRate { facts.append("unmatched spans \(String(format: "%.1f%%", 100 * u))") }
        facts.append("from \(e.path)")
        return out + HTML.escape(facts.joined(separator: " · ")) + "</p></section>\n"
    }

    /// The first run's config.yaml, and which keys differ between runs.
    static func settings(_ data: ReportData) -> String {
        guard let first = data.runs.first, !first.settings.isEmpty else { return "" }
        let varying = first.settings.map(\.key).filter { key in
            Set(data.runs.map { run in run.settings.first { $0.key == key }?.value ?? "" }).count > 1
        }
        var out = "<section class=\"settings\"><details><summary>Settings (config.yaml of \(HTML.escape(first.name)))"
        if !varying.isEmpty { out += "; differing between runs: " + HTML.escape(varying.joined(separator: ", ")) }
        out += "</summary><table>"
        for (key, value) in first.settings {
            out += "<tr><td>\(HTML.escape(key))</td><td>\(HTML.escape(value))</td></tr>"
        }
        return out + "</table></details></section>\n"
    }
}

extension ReportData {
    /// The verdict when the runs hold both token-level and scalar groups (nil otherwise).
    public func verdict(options: ReportOptions = ReportOptions()) -> Verdict? {
        let modes = Set(groups.map(\.mode))
        guard modes.contains("token"), modes.contains("scalar") else { return nil }
        return Verdict.compute(groups: groups, metric: options.verdictMetric ?? Verdict.defaultMetric(runs),
                               target: options.target)
    }

    /// Renders the page and writes it to `path` atomically.
    public func writeReport(to path: String, options: ReportOptions = ReportOptions()) throws {
        try OutputFile.write(ReportPage.html(self, options: options), to: path, what: "the report")
    }
}
