import Common
import FactSummaries
import Foundation
import Generation
import Models
import PolicyOptimization
import Tokenizers
import Training

/// Held-out fact accuracy of a model's summaries, decoded as the demo's PPO rollouts decode them.
public enum DemoEvaluation {
    /// The rollouts' decoding (PPO uses the same settings, and so does its held-out evaluation): temperature 0.7,
    /// at least 16 and at most 40 new tokens (reference summaries are 18 to 33 tokens, so stopping sooner can only
    /// leave facts out).
    public static let temperature = 0.7
    public static let minNewTokens = 16
    public static let maxNewTokens = 40

    /// The held-out posts of the demo's task (the eval split: a random stream no training stage sees).
    public static func posts(_ count: Int) throws -> [FactItem] {
        try FactTask.items(.eval, options: DemoTask.options(train: 0, eval: count))
    }

    /// The summaries of the first `posts` held-out posts by the model in `model`, checked by the task's metric:
    /// sampled as PPO's held-out evaluation samples them (the same seed per post), or greedy.
    public static func tally(model directory: String, posts count: Int, threads: Int, greedy: Bool = false) throws
        -> FactTally
    {
        let (model, tokenizer) = try ModelFiles.load(directory: directory, threads: threads)
        guard let tokenizer else { throw DemoError.stage("evaluation", "\(directory) has no tokenizer") }
        let items = try posts(count)
        let generator = Generator(model: model, tokenizer: tokenizer)
        var tally = FactTally()
        for start in stride(from: 0, to: items.count, by: 32) {
            let group = Array(items[start..<min(items.count, start + 32)])
            let requests = try group.enumerated().map { i, item -> GenerationRequest in
                var p = SamplingParameters()
                p.maxNewTokens = maxNewTokens
                p.minNewTokens = minNewTokens
                if !greedy {
                    p.temperature = Float(temperature)
                    p.seed = PPOObjective.sampleSeed(PPOObjective.evaluationSeed, row: start + i)
                }
                let prompt = FactTask.policyPrompt(post: item.post.text)
                return GenerationRequest(promptIds: try tokenizer.chatPromptIds([ChatMessage(role: "user", content: prompt)]),
                                         parameters: p)
            }
            for (item, sequence) in zip(group, try generator.generate(requests)) {
                tally.add(FactChecker.check(item.post.facts, summary: sequence.text))
            }
        }
        return tally
    }
}
