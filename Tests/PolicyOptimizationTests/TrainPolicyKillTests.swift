import Foundation
import Testing
import TestSupport
import Training

/// `text2grad train-policy` as a user runs it, SIGKILLed mid-run and resumed with `--resume`: every logged metric
/// (but the wall times, `seconds` and `time/*`) equals the uninterrupted run's, bit for bit, and samples.jsonl has each step once.
@Suite(.serialized) struct TrainPolicyKillTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static func executable() throws -> String {
        try #require(text2gradExecutable(), "build the text2grad executable first").path
    }

    @Test func killedRunResumesToTheSameMetrics() throws {
        let binary = try Self.executable()
        let directory = NSTemporaryDirectory() + "ppo-kill-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let posts = ["My name is Ben. I work as a nurse. I moved to Zurich in December with my parrot, Rex.",
                     "Hi all, I am Ida. I am 60 years old. In March I moved to Seville. I live with my turtle, Pico.",
                     "Hello, Oscar here. I work as an accountant. I moved to Milan in March. Any advice on finding a flat?"]
        let prompts = directory + "/prompts.jsonl"
        let lines = try posts.enumerated().map { i, post in
            String(decoding: try JSONSerialization.data(withJSONObject: [
                "id": "p\(i)", "prompt": "Summarize the post in one sentence.\n\n" + post]), as: UTF8.self)
        }
        try lines.joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        func arguments(_ run: String) -> [String] {
            ["train-policy", "--model", Self.root.appendingPathComponent("Fixtures/models/chat-smollm").path,
             "--prompts", prompts, "--eval-prompts", prompts, "--reward", "builtin", "--output", directory + "/" + run,
             "--steps", "6", "--batch-size", "4", "--mini-batch-size", "2", "--ppo-epochs", "2", "--max-new-tokens", "6",
             "--lora-rank", "4", "--learning-rate", "5e-3", "--kl-target", "1", "--save-every", "2", "--eval-every", "3",
             "--seed", "5", "--threads", "2"]
        }
        func launch(_ args: [String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
        let straight = try launch(arguments("straight"))
        straight.waitUntilExit()
        #expect(straight.terminationStatus == 0)

        let victim = try launch(arguments("killed") + ["--step-delay", "0.5"])
        let metrics = directory + "/killed/metrics.jsonl"
        let deadline = Date().addingTimeInterval(180)
        // Steps logged (step 0 holds the evaluation before the first step).
        func stepsLogged() -> Int { ((try? MetricsLog.records(path: metrics)) ?? [:]).keys.filter { $0 > 0 }.count }
        while Date() < deadline, stepsLogged() < 3 { Thread.sleep(forTimeInterval: 0.05) }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal)
        let loggedBeforeKill = stepsLogged()
        #expect((3..<6).contains(loggedBeforeKill), "killed after \(loggedBeforeKill) steps")

        let resumed = try launch(arguments("killed") + ["--resume"])
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)
        let a = try MetricsLog.records(path: directory + "/straight/metrics.jsonl")
        let b = try MetricsLog.records(path: metrics)
        #expect(a.count == 7 && b.count == 7, "steps 1 to 6 and the evaluation before the first")
        #expect(a[0] == b[0] && a[0]?["eval/score"] != nil)
        for step in 1...6 {
            let keys = Set(a[step, default: [:]].keys).union(b[step, default: [:]].keys).filter { !$0.hasPrefix("time/") && $0 != "seconds" }
            #expect(keys.count > 20)
            for key in keys.sorted() {
                #expect(a[step]?[key] == b[step]?[key], "step \(step) \(key): \(a[step]?[key] ?? .nan) vs \(b[step]?[key] ?? .nan)")
            }
        }
        #expect(a[3]?["eval/score"] != nil && a[6]?["eval/score"] != nil, "evaluated at steps 3 and 6")
        func sampleSteps(_ run: String) throws -> [Int] {
            try String(contentsOfFile: directory + "/\(run)/samples.jsonl", encoding: .utf8).split(separator: "\n").map {
                ((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["step"] as? Int) ?? -1
            }
        }
        #expect(try sampleSteps("killed") == sampleSteps("straight"), "each step's samples once")
        let straightSamples = try String(contentsOfFile: directory + "/straight/samples.jsonl", encoding: .utf8)
        let killedSamples = try String(contentsOfFile: directory + "/killed/samples.jsonl", encoding: .utf8)
        #expect(straightSamples == killedSamples, "the same responses, critiques and per-token values")

        // The saved configuration reads as a person writes it, the critic included.
        let saved = try String(contentsOfFile: directory + "/killed/config.yaml", encoding: .utf8)
        for line in ["temperature: 0.7", "learning_rate: 0.005", "reward: builtin", "critique_max_new_tokens: 256"] {
            #expect(saved.contains(line + "\n"), "\(line) in\n\(saved)")
        }
        // Resuming with another critic setting continues a different experiment: refused, naming it, run untouched.
        let refused = try TestSupport.launch(URL(fileURLWithPath: binary),
                                             arguments("killed") + ["--resume", "--steps", "8", "--max-quotes", "1"],
                                             standardOutput: FileHandle.nullDevice)
        #expect(refused.status != 0 && refused.stderr.contains("'max_quotes'"), "\(refused.stderr)")
        #expect(try MetricsLog.records(path: metrics).count == 7)
        #expect(try String(contentsOfFile: directory + "/killed/config.yaml", encoding: .utf8) == saved)
    }
}
