import Foundation
import PolicyOptimization
import Report
import Testing
import Training
@testable import Demo

/// `text2grad demo` end to end at the smoke sizes (a debug build runs the engine several times slower than the release
/// build `--quick` is timed in): every stage writes its folder, the reward model is evaluated, both PPO modes run
/// and are evaluated on held-out posts, and a second run keeps every finished stage.
@Suite(.serialized) struct DemoTests {
    @Test func quickDemoRunsEveryStageAndResumes() throws {
        let directory = NSTemporaryDirectory() + "demo-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = DemoOptions()
        options.output = directory
        options.size = .smoke
        var lines: [String] = []
        let outcome = try DemoPipeline(options: options, log: { lines.append($0) }).run()
        let runs = outcome.runs
        let ppoStages = ["rm", "builtin"].flatMap { critic in ["token", "scalar"].map { "ppo-\(critic)-\($0)-seed0" } }
        for stage in ["data", "base", "policy", "annotations", "rm"] + ppoStages {
            #expect(FileManager.default.fileExists(atPath: directory + "/\(stage)/done.json"), "stage \(stage)")
        }
        let rm = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/rm/rm-eval.json")))
            as! [String: Any]
        #expect((rm["items"] as! Int) > 0 && rm["labels"] != nil)
        #expect(FileManager.default.fileExists(atPath: directory + "/rm/rm-eval-free-quotes.json"))
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/base/evaluation.json")))
            as! [String: Any]
        #expect(abs((base["fact_accuracy"] as! Double) - options.targetMargin - outcome.target) < 0.001, "rounded to three decimals")
        let annotations = try String(contentsOfFile: directory + "/annotations/annotations.jsonl", encoding: .utf8)
        #expect(annotations.split(separator: "\n").count == options.sizes.annotatedSamples, "the teacher annotated every sample")
        for critic in DemoCritic.allCases {
            for mode in [RewardMode.token, .scalar] {
                let run = try #require(runs[critic]?[mode]?.first)
                let records = try MetricsLog.records(path: run + "/metrics.jsonl")
                #expect(records.count == options.sizes.ppoSteps + 1, "every step and the evaluation before the first")
                #expect(records[0]?["eval/task_metric"] != nil, "\(mode) evaluated before training")
                #expect(records[options.sizes.ppoSteps]?["eval/task_metric"] != nil, "\(mode) evaluated at the end")
                let config = try String(contentsOfFile: run + "/config.yaml", encoding: .utf8)
                #expect(config.contains("reward: \(critic.rawValue)\n"), "the run names its critic")
            }
        }
        let report = try ReportData.load(path: directory)
        var reportOptions = ReportOptions()
        reportOptions.target = outcome.target
        let verdict = try #require(report.verdict(options: reportOptions))
        #expect(verdict.entries.map(\.title) == ["token-level, reward model", "scalar, reward model",
                                                  "token-level, built-in critic", "scalar, built-in critic"], "\(verdict.line)")
        try report.writeReport(to: directory + "/report.html")
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg"), "the report draws its curves")

        lines.removeAll()
        let started = Date()
        _ = try DemoPipeline(options: options, log: { lines.append($0) }).run()
        #expect(lines.filter { $0.contains("done before") }.count == 9, "\(lines)")
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
