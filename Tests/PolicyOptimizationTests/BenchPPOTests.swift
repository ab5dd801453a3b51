import Common
import Foundation
import Testing
import Tokenizers
@testable import PolicyOptimization

/// `text2grad bench ppo`: one tiny step of train-policy's trainer through the built executable, and the prompts
/// it times, each of exactly the length asked.
@Suite(.serialized) struct BenchPPOTests {
    @Test func oneTinyStepPrintsEveryPhase() throws {
        let (status, text, stderr) = try BadInputCLITests.launch([
            "bench", "ppo", "--shape", "demo-tiny", "--batch", "2", "--mini-batch", "1", "--epochs", "1",
            "--prompt-tokens", "12", "--max-new-tokens", "4", "--iterations", "2", "--warmup", "0", "--threads", "1"])
        try #require(status == 0, "\(stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        #expect(report["bench"] as? String == "ppo" && report["engine"] as? String == "text2grad")
        #expect(report["response_tokens"] as? Double == 8, "2 rollouts of exactly 4 tokens")
        #expect(report["updates"] as? Int == 2 && report["prompt_tokens"] as? Int == 12)
        for key in ["seconds", "min_seconds", "median_seconds", "max_seconds"] {
            #expect((report[key] as? Double ?? 0) > 0, "\(key)")
        }
        #expect((report["all_seconds"] as? [Double])?.count == 2)
        let phases = try #require(report["phases"] as? [String: [String: Any]])
        #expect(Set(phases.keys) == ["rollout", "score", "old_policy", "reference", "advantages", "optimize"])
        for (name, phase) in phases {
            let low = phase["min_seconds"] as? Double ?? -1, middle = phase["median_seconds"] as? Double ?? -1
            let high = phase["max_seconds"] as? Double ?? -1
            #expect(0 <= low && low <= middle && middle <= high, "\(name): \(phase)")
        }
    }

    @Test func fittedPromptsHaveExactlyTheLengthAsked() throws {
        let model = PPOTrainerTests.root.appendingPathComponent("models/chat-smollm")
        let tokenizer = try Tokenizer.load(directory: model)
        let text = "Summarise: Mia moved to Lisbon with Pico."
        let whole = try PolicyPrompt.promptIds([ChatMessage(role: "user", content: text)], tokenizer: tokenizer)
        for length in [3, whole.count, whole.count + 1, 3 * whole.count + 2] {
            let prompt = try PolicyPrompt.fitted(id: "p", text: text, length: length, tokenizer: tokenizer)
            #expect(prompt.ids.count == length && prompt.text == text)
            // The end is the rendered prompt's end: the user's text, then the assistant's turn opened.
            #expect(Array(prompt.ids.suffix(3)) == Array(whole.suffix(3)))
        }
        #expect(try PolicyPrompt.fitted(id: "p", text: text, length: whole.count, tokenizer: tokenizer).ids == whole)
    }
}
