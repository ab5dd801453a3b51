import ArgumentParser
import FactSummaries
import PolicyOptimization
import RewardModel

/// The built-in task's rule-based teacher as a reward source, and its fact-accuracy metric.
enum BuiltinTeacherSource {
    /// The teacher answering in process, with the same JSON an endpoint serving it returns, quoting at most
    /// `maxQuotes` phrases per label (nil or 0: every right fact and every problem, so its reward counts what the
    /// fact-accuracy metric counts).
    static func critic(format: RewardModelFormat, maxQuotes: Int?) throws -> Critic {
        guard format.task == "summarization" else {
            throw ValidationError("--reward builtin critiques the built-in summarization task (--task summarization)")
        }
        let teacher = FactTeacher(options: TeacherOptions(maxQuotes: maxQuotes ?? 0))
        let answer: @Sendable (CritiquePair) -> String = { pair in
            teacher.reply(post: pair.prompt, summary: pair.response).text
        }
        return Critic(backend: .function(answer, name: "builtin-teacher"), format: format)
    }

    /// Fact accuracy of a response against the post in its prompt; nil for prompts that hold no task post.
    static let taskMetric: (@Sendable (PolicyPrompt, String) -> Double?)? = { prompt, response in
        FactChecker.accuracy(post: prompt.text, summary: response)
    }
}
