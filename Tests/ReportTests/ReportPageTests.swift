import Common
import Foundation
import JSON
import Testing
@testable import Report

@Suite("Report of one run")
struct ReportPageTests {
    /// Six steps of every key, objective/kl null at step 4, eval/task_metric at steps 3 and 6.
    static func metrics() -> [[String: Any]] {
        (1...6).map { step in
            var record = SyntheticTree.record(step: step) { key in
                if key == "objective/kl", step == 4 { return NSNull() }
                return Double(step) * 0.1 + Double(key.count) * 0.013
            }
            if step % 3 == 0 { record["eval/task_metric"] = [0.25, 0.5][step / 3 - 1] }
            return record
        }
    }

    static func page(samples: [[String: Any]] = []) throws -> (html: String, data: ReportData, tree: SyntheticTree) {
        let tree = try SyntheticTree("one")
        try tree.run("", metrics: metrics(), samples: samples)
        let data = try ReportData.load(path: tree.root)
        return (ReportPage.html(data), data, tree)
    }

    @Test func anSVGPerCurveWithAPointPerStep() throws {
        let (html, data, tree) = try Self.page()
        defer { tree.remove() }
        let specs = (ChartSpec.main + ChartSpec.diagnostics).filter { data.runs[0].metrics.has($0.key) }
        #expect(specs.count == 12)
        #expect(Markup.tags(html, "svg", class: "chart").count == specs.count)
        for spec in specs {
            let chart = try #require(Markup.chart(html, key: spec.key), "no chart of \(spec.key)")
            let lines = Markup.tags(chart, "polyline", class: "mean")
            #expect(lines.count == 1)
            let expected = data.runs[0].metrics.series(spec.key)
            let points = Markup.points(lines[0])
            #expect(points.count == expected.count, "\(spec.key)")
            #expect(Markup.numbers(Markup.attribute("data-steps", lines[0])) == expected.map { Double($0.step) })
            // A single run has no band.
            #expect(Markup.tags(chart, "polygon", class: "band").isEmpty)
            // A hover column per step, its tooltip naming the step.
            #expect(chart.components(separatedBy: "<title>step ").count - 1 == expected.count)
        }
        // The points climb as the values do (SVG y grows downwards).
        let scoreChart = try #require(Markup.chart(html, key: "objective/scores"))
        let scores = Markup.points(Markup.tags(scoreChart, "polyline")[0])
        let ys = scores.map { Double($0.split(separator: ",")[1])! }
        #expect(ys == ys.sorted(by: >))
    }

    @Test func numbersEqualMetricsJSONL() throws {
        let (html, _, tree) = try Self.page()
        defer { tree.remove() }
        // Read the file back independently of the report's reader, with a parser that reads each number to the
        // nearest double (JSONSerialization reads 0.46900000000000003 as 0.469, one ulp away).
        let text = try String(contentsOfFile: tree.root + "/metrics.jsonl", encoding: .utf8)
        var file: [String: [(Int, Double)]] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONValue.parse(String(line)).objectValue)
            let step = try #require(object.first { $0.key == "step" }?.value.intValue)
            for (key, value) in object where key != "step" {
                if let n = value.numberValue { file[key, default: []].append((step, n)) }
            }
        }
        for (key, pairs) in file {
            let chart = try #require(Markup.chart(html, key: key), "no chart of \(key)")
            let line = Markup.tags(chart, "polyline", class: "mean")[0]
            #expect(Markup.numbers(Markup.attribute("data-values", line)) == pairs.map(\.1), "\(key)")
            #expect(Markup.numbers(Markup.attribute("data-steps", line)) == pairs.map { Double($0.0) }, "\(key)")
        }
        // The null KL at step 4 is skipped, not drawn as 0.
        let kl = Markup.tags(try #require(Markup.chart(html, key: "objective/kl")), "polyline")[0]
        #expect(Markup.attribute("data-steps", kl) == "1 2 3 5 6")
        // The runs table's last values are the file's.
        for cell in Markup.tags(html, "td", class: "num") where Markup.attribute("data-key", cell) != nil {
            let key = Markup.attribute("data-key", cell)!
            #expect(Double(Markup.attribute("data-value", cell)!) == file[key]!.last!.1, "\(key)")
        }
        #expect(html.contains("data-key=\"eval/task_metric\" data-value=\"0.5\""))
        // No verdict for a single run.
        #expect(!html.contains("class=\"verdict\""))
    }

    @Test func tokensShadedByTheSignAndSizeOfTheirReward() throws {
        let sample = SyntheticTree.sample(step: 6, id: "p1", pieces: [
            ("Mia", 0.9), (" moved", 0.0005), (" to", 0), (" Lisbon", 0.45), (" in", -0.02), (" May", -0.9),
            (".", -0.45),
        ])
        let (html, _, tree) = try Self.page(samples: [sample])
        defer { tree.remove() }
        let response = try #require(html.components(separatedBy: "<div class=\"response\">").dropFirst().first)
        let tokens = Markup.tags(try #require(response.components(separatedBy: "</div>").first), "span", class: "tok")
        #expect(tokens.count == 7)
        func classes(_ tag: String) -> Set<String> {
            Set((Markup.attribute("class", tag) ?? "").split(separator: " ").map(String.init))
        }
        #expect(classes(tokens[0]).contains("pos"))
        #expect(classes(tokens[0]).contains("span-good"))
        #expect(Markup.attribute("style", tokens[0]) == "background-color:rgba(22,163,74,0.750)")
        #expect(classes(tokens[1]).contains("zero") && Markup.attribute("style", tokens[1]) == nil)
        #expect(classes(tokens[2]).contains("zero") && !classes(tokens[2]).contains("span-good"))
        #expect(Markup.attribute("style", tokens[3]) == "background-color:rgba(22,163,74,0.425)")
        #expect(classes(tokens[4]).contains("neg"))
        #expect(classes(tokens[5]) == ["tok", "neg", "span-poor"])
        #expect(Markup.attribute("style", tokens[5]) == "background-color:rgba(220,38,38,0.750)")
        #expect(Markup.attribute("data-reward", tokens[5]) == "-0.9")
        #expect(Markup.attribute("data-advantage", tokens[5]) == "-0.45")
        let title = try #require(Markup.attribute("title", tokens[5]))
        #expect(title.contains("reward -0.900") && title.contains("advantage -0.450") && title.contains("value +0.250"))
        // The critique sits beside the response, its spans listed.
        #expect(html.contains("<div class=\"critique\"><p class=\"text\">Names the city right; the month is wrong."
            + "</p>"))
        #expect(html.contains("<li class=\"good\"><span class=\"label\">good_spans +1</span> “Lisbon”</li>"))
    }

    @Test func modelOutputCannotInjectMarkup() throws {
        let attack = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'"
        var sample = SyntheticTree.sample(step: 2, id: "<b>id</b>", pieces: [("<script>", 1), ("alert(1)", -1),
                                                                              ("</script>", 0.5)],
                                          critique: attack, prompt: "</pre>" + attack)
        sample["spans"] = [["text": attack, "label": "poor_spans\"<", "score": -1, "start": NSNull(), "end": NSNull(),
                            "match": "unmatched<i>"]]
        var failed = SyntheticTree.sample(step: 3, id: "x", pieces: [("ok", 0)])
        failed["critique"] = nil
        failed["critique_failure"] = attack
        failed["raw"] = attack
        let tree = try SyntheticTree("escape")
        defer { tree.remove() }
        try tree.run("ppo-<script>x</script>", metrics: Self.metrics(), samples: [sample, failed])
        let html = ReportPage.html(try ReportData.load(path: tree.root))
        #expect(html.range(of: "<script", options: .caseInsensitive) == nil)
        #expect(html.range(of: "<img", options: .caseInsensitive) == nil)
        #expect(!html.contains("<b>id") && !html.contains("<i>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;"))
        #expect(html.contains(">&lt;/script&gt;</span>"))
        #expect(HTML.escape("a\u{0}b\u{1B}c\nd") == "a\u{FFFD}b\u{FFFD}c\nd")
    }

    @Test func extremeFiguresDrawOrSayWhyNot() throws {
        let tree = try SyntheticTree("extreme")
        defer { tree.remove() }
        try tree.run("", metrics: [
            ["step": 1, "objective/kl": 1.7e308, "objective/scores": 5e-324, "loss": 3, "flag": true],
            ["step": 2, "objective/kl": -1.7e308, "objective/scores": 1e-323, "loss": 3],
            ["step": 3, "objective/scores": 0, "loss": 3],
        ])
        let html = ReportPage.html(try ReportData.load(path: tree.root))
        #expect(html.contains("<p class=\"none\" data-key=\"objective/kl\">Values out of drawable range.</p>"))
        for key in ["objective/scores", "loss"] {
            let chart = try #require(Markup.chart(html, key: key))
            #expect(Markup.points(Markup.tags(chart, "polyline", class: "mean")[0]).count == 3)
        }
        // A constant curve still has ticks around it; a boolean is not a number to plot.
        #expect(Markup.chart(html, key: "loss")?.contains(">3.0</text>") == true)
        #expect(Markup.chart(html, key: "flag") == nil && !html.contains("data-key=\"flag\""))
    }

    @Test func beforeAndAfterShowTheSamePrompt() throws {
        let samples = [
            SyntheticTree.sample(step: 1, id: "a", pieces: [("early a", -1)]),
            SyntheticTree.sample(step: 1, id: "b", pieces: [("early b", -1)]),
            SyntheticTree.sample(step: 4, id: "b", pieces: [("middle b", 0)]),
            SyntheticTree.sample(step: 6, id: "a", pieces: [("late a", 1)]),
            SyntheticTree.sample(step: 6, id: "c", pieces: [("late c", 1)]),
        ]
        let (html, data, tree) = try Self.page(samples: samples)
        defer { tree.remove() }
        let pair = try #require(SampleView.beforeAfter(data.runs[0].samples))
        #expect(pair.before.id == "a" && pair.before.step == 1 && pair.after.id == "a" && pair.after.step == 6)
        let section = try #require(html.components(separatedBy: "<div class=\"before-after\">").dropFirst().first)
        let cards = Markup.tags(section, "article", class: "sample").prefix(2)
        #expect(cards.map { Markup.attribute("data-id", $0) } == ["a", "a"])
        #expect(cards.map { Markup.attribute("data-step", $0) } == ["1", "6"])
        #expect(html.contains("the same prompt"))
        // Without a repeated id: the first sample of the first step and of the last.
        let distinct = [samples[0], samples[2], samples[4]].map { try! RolloutSample.load(json: $0) }
        let fallback = try #require(SampleView.beforeAfter(distinct.map { var s = $0; s.id += "\(s.step)"; return s }))
        #expect(fallback.before.step == 1 && fallback.after.step == 6)
    }
}

extension RolloutSample {
    /// One sample from the object samples.jsonl would hold.
    static func load(json object: [String: Any]) throws -> RolloutSample {
        let path = NSTemporaryDirectory() + "report-sample-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SyntheticTree.jsonl([object]).write(toFile: path, atomically: true, encoding: .utf8)
        return try RolloutSample.load(path: path)[0]
    }
}
