import Foundation

/// One curve of the report: the metric key and what to call it.
public struct ChartSpec: Sendable, Equatable {
    public var key: String
    public var title: String
    public var note: String

    public init(key: String, title: String, note: String) {
        self.key = key
        self.title = title
        self.note = note
    }

    /// The main curves, in page order: reward, task metric, KL and the losses (SFT's loss for other runs).
    public static let main = [
        ChartSpec(key: "objective/scores", title: "Critic score", note: "mean sequence score of the step's rollouts"),
        ChartSpec(key: "objective/rlhf_reward", title: "Reward", note: "Σ s_t − β·KL per rollout"),
        ChartSpec(key: "objective/task_metric", title: "Task metric (rollouts)", note: "the task's metric, sampled"),
        ChartSpec(key: "eval/task_metric", title: "Task metric (held-out)", note: "held-out prompts, decoded as rollouts"),
        ChartSpec(key: "eval/score", title: "Critic score (held-out)", note: "responses to held-out prompts"),
        ChartSpec(key: "objective/kl", title: "KL to the reference", note: "summed over response tokens"),
        ChartSpec(key: "loss/policy_avg", title: "Policy loss", note: "clipped surrogate, mean over updates"),
        ChartSpec(key: "loss/value_avg", title: "Value loss", note: "clipped, mean over updates"),
        ChartSpec(key: "loss", title: "Loss", note: "training loss"),
        ChartSpec(key: "eval/loss", title: "Held-out loss", note: "evaluation loss"),
    ]

    /// Smaller diagnostic curves.
    public static let diagnostics = [
        ChartSpec(key: "kl_coef", title: "β", note: "KL coefficient"),
        ChartSpec(key: "policy/clipfrac_avg", title: "Clip fraction", note: "policy ratio clipped"),
        ChartSpec(key: "val/var_explained", title: "Explained variance", note: "value head vs returns"),
        ChartSpec(key: "span/pos_frac", title: "Positive tokens", note: "fraction of response tokens"),
        ChartSpec(key: "span/neg_frac", title: "Negative tokens", note: "fraction of response tokens"),
        ChartSpec(key: "rm/parse_failures", title: "Unparsed critiques", note: "per step"),
        ChartSpec(key: "response_length", title: "Response length", note: "tokens"),
        ChartSpec(key: "seconds", title: "Seconds per step", note: "wall clock"),
    ]
}

/// A line chart in inline SVG: per group the mean over runs as a polyline (with `data-steps` and `data-values`
/// holding the exact figures), a min–max band when the group has several runs, and per step a transparent hover
/// column whose `<title>` lists every group's value (a native tooltip, no script).
struct LineChart {
    struct Curve {
        var label: String
        var color: String
        var runs: Int
        var points: [SeriesPoint]
    }

    var spec: ChartSpec
    var curves: [Curve]
    /// A level drawn as a dashed line across the chart (the verdict's target), kept inside the value range.
    var target: Double?
    /// The drawing's own units; the page scales it to its box, so a smaller chart gets a smaller view box to keep
    /// its labels legible.
    var width = 520.0, height = 230.0
    var left = 56.0
    let right = 12.0, top = 10.0, bottom = 30.0

    var svg: String {
        let all = curves.flatMap(\.points)
        guard !all.isEmpty else { return "" }
        var (x0, x1) = (Double(all.map(\.step).min()!), Double(all.map(\.step).max()!))
        if x0 == x1 { (x0, x1) = (x0 - 1, x1 + 1) }
        var (y0, y1) = (all.map(\.min).min()!, all.map(\.max).max()!)
        if let target, target.isFinite { (y0, y1) = (min(y0, target), max(y1, target)) }
        // A constant curve (β when fixed) gets a band of ±10% around it, not a range of ±0.5 that flattens it.
        let pad = y1 > y0 ? (y1 - y0) * 0.06 : (y0 != 0 ? abs(y0) * 0.1 : 0.5)
        (y0, y1) = (y0 - pad, y1 + pad)
        // Figures near ±Double.greatestFiniteMagnitude have no drawable range.
        guard (y1 - y0).isFinite, (x1 - x0).isFinite else {
            return "<p class=\"none\" data-key=\"\(HTML.escape(spec.key))\">Values out of drawable range.</p>"
        }
        let w = width - left - right, h = height - top - bottom
        func x(_ step: Int) -> Double { left + (Double(step) - x0) / (x1 - x0) * w }
        func y(_ value: Double) -> Double { top + (y1 - value) / (y1 - y0) * h }

        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
            + "data-key=\"\(HTML.escape(spec.key))\" aria-label=\"\(HTML.escape(spec.title))\">\n"
        out += "<g class=\"grid\">"
        let (yTicks, yStep) = niceTicks(y0, y1, count: 5)
        for t in yTicks {
            let yy = coordinate(y(t))
            out += "<line x1=\"\(coordinate(left))\" x2=\"\(coordinate(left + w))\" y1=\"\(yy)\" y2=\"\(yy)\""
                + (abs(t) < yStep * 1e-6 ? " class=\"zero\"" : "") + "/>"
            out += "<text x=\"\(coordinate(left - 6))\" y=\"\(yy)\" class=\"y\">\(tickLabel(t, step: yStep))</text>"
        }
        let (xTicks, xStep) = niceTicks(x0, x1, count: 6, integral: true)
        for t in xTicks {
            let xx = coordinate(x(Int(t)))
            out += "<line x1=\"\(xx)\" x2=\"\(xx)\" y1=\"\(coordinate(top))\" y2=\"\(coordinate(top + h))\" "
                + "class=\"v\"/>"
            out += "<text x=\"\(xx)\" y=\"\(coordinate(top + h + 16))\" class=\"x\">\(tickLabel(t, step: xStep))</text>"
        }
        out += "<rect class=\"frame\" x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(w))\" "
            + "height=\"\(coordinate(h))\"/></g>\n"
        for curve in curves where !curve.points.isEmpty {
            let label = HTML.escape(curve.label)
            if curve.runs > 1 {
                let upper = curve.points.map { "\(coordinate(x($0.step))),\(coordinate(y($0.max)))" }
                let lower = curve.points.reversed().map { "\(coordinate(x($0.step))),\(coordinate(y($0.min)))" }
                out += "<polygon class=\"band\" data-group=\"\(label)\" fill=\"\(curve.color)\" points=\""
                    + (upper + lower).joined(separator: " ") + "\"/>\n"
            }
            out += "<polyline class=\"mean\" data-group=\"\(label)\" stroke=\"\(curve.color)\" "
                + "data-steps=\"\(curve.points.map { String($0.step) }.joined(separator: " "))\" "
                + "data-values=\"\(curve.points.map { HTML.exact($0.mean) }.joined(separator: " "))\" "
            if curve.runs > 1 {
                out += "data-min=\"\(curve.points.map { HTML.exact($0.min) }.joined(separator: " "))\" "
                    + "data-max=\"\(curve.points.map { HTML.exact($0.max) }.joined(separator: " "))\" "
            }
            out += "points=\"" + curve.points.map { "\(coordinate(x($0.step))),\(coordinate(y($0.mean)))" }
                .joined(separator: " ") + "\"/>\n"
            if curve.points.count <= 30 {
                out += "<g class=\"dots\" fill=\"\(curve.color)\">" + curve.points.map {
                    "<circle cx=\"\(coordinate(x($0.step)))\" cy=\"\(coordinate(y($0.mean)))\" r=\"2.5\"/>"
                }.joined() + "</g>\n"
            }
        }
        if let target, target.isFinite {
            let yy = coordinate(y(target))
            out += "<g class=\"target\" data-target=\"\(HTML.exact(target))\"><line x1=\"\(coordinate(left))\" "
                + "x2=\"\(coordinate(left + w))\" y1=\"\(yy)\" y2=\"\(yy)\"/><text x=\"\(coordinate(left + 4))\" "
                + "y=\"\(coordinate(y(target) - 4))\">target \(HTML.short(target))</text></g>\n"
        }
        out += hoverColumns(x: x, top: top, height: h)
        out += "<text class=\"axis\" x=\"\(coordinate(left + w))\" y=\"\(coordinate(height - 2))\">step</text>"
        return out + "</svg>"
    }

    /// A column per logged step, as wide as halfway to its neighbours, titled with every curve's figure there.
    func hoverColumns(x: (Int) -> Double, top: Double, height: Double) -> String {
        let steps = Array(Set(curves.flatMap { $0.points.map(\.step) })).sorted()
        let byCurve = curves.map { curve in
            Dictionary(curve.points.map { ($0.step, $0) }, uniquingKeysWith: { a, _ in a })
        }
        var out = "<g class=\"hover\">"
        for (i, step) in steps.enumerated() {
            let from = i == 0 ? x(step) - 4 : (x(steps[i - 1]) + x(step)) / 2
            let to = i == steps.count - 1 ? x(step) + 4 : (x(step) + x(steps[i + 1])) / 2
            var lines = ["step \(step)"]
            for (curve, points) in zip(curves, byCurve) {
                guard let p = points[step] else { continue }
                var line = "\(curve.label): \(HTML.short(p.mean))"
                if p.count > 1 { line += " (\(HTML.short(p.min))–\(HTML.short(p.max)), \(p.count) runs)" }
                lines.append(line)
            }
            out += "<rect x=\"\(coordinate(from))\" y=\"\(coordinate(top))\" "
                + "width=\"\(coordinate(max(0.5, to - from)))\" height=\"\(coordinate(height))\">"
                + "<title>\(HTML.escape(lines.joined(separator: "\n")))</title></rect>"
        }
        return out + "</g>\n"
    }
}
