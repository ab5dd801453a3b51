import Foundation
import Spans
import Tokenizers

/// What the teacher is asked for one kind of data, and how its answer is labelled.
public protocol AnnotationTask: Sendable {
    /// The name written into each record's `task` field.
    var name: String { get }
    /// The span lists the teacher must return, in answer order.
    var labels: [SpanLabel] { get }
    /// Whether the response's code runs against the item's tests before the teacher is asked.
    var runsCode: Bool { get }
    /// The conversation sent to the teacher for `item`; `execution` is set for code tasks.
    func messages(for item: TaskItem, execution: ExecutionResult?) throws -> [ChatMessage]
}

/// The built-in tasks, selectable by name on the command line.
public enum BuiltinTask: String, CaseIterable, Sendable {
    /// SLF5K: critique a Reddit post summary.
    case summarization
    /// KodCode: critique a solution after running its tests.
    case code
    /// UltraFeedback: critique an answer to an open question.
    case qa

    /// The task object; `improvementScore` is the code task's score for `improvement_code`.
    public func make(improvementScore: Double = 0) -> any AnnotationTask {
        switch self {
        case .summarization: return SummarizationTask()
        case .code: return CodeTask(improvementScore: improvementScore)
        case .qa: return QATask()
        }
    }
}

/// Summaries of posts (SLF5K): good and poor phrases of the summary.
public struct SummarizationTask: AnnotationTask {
    public let name = "summarization"
    public let runsCode = false
    public let labels = [
        SpanLabel(name: "good_spans", score: 1, meaning: TeacherPrompts.summaryGood),
        SpanLabel(name: "poor_spans", score: -1, meaning: TeacherPrompts.summaryPoor),
    ]

    /// Creates the task.
    public init() {}

    public func messages(for item: TaskItem, execution: ExecutionResult?) throws -> [ChatMessage] {
        var body = TeacherPrompts.summaryIntro
        body += "\n\n## Post\n\(item.prompt)\n\n## Summary to review\n\(item.response)\n"
        if let reference = item.reference, !reference.isEmpty {
            body += "\n## A human-written summary (for comparison only; do not quote from it)\n\(reference)\n"
        }
        body += "\n" + TeacherPrompts.summarySteps + "\n\n" + TeacherPrompts.outputFormat(labels, quotedFrom: "summary")
        return [ChatMessage(role: "system", content: TeacherPrompts.system), ChatMessage(role: "user", content: body)]
    }
}

/// Open questions and chat answers (UltraFeedback): good and poor phrases of the answer.
public struct QATask: AnnotationTask {
    public let name = "qa"
    public let runsCode = false
    public let labels = [
        SpanLabel(name: "good_spans", score: 1, meaning: TeacherPrompts.answerGood),
        SpanLabel(name: "poor_spans", score: -1, meaning: TeacherPrompts.answerPoor),
    ]

    /// Creates the task.
    public init() {}

    public func messages(for item: TaskItem, execution: ExecutionResult?) throws -> [ChatMessage] {
        var body = TeacherPrompts.answerIntro
        body += "\n\n## The user's request\n\(item.prompt)\n\n## The answer to review\n\(item.response)\n"
        if let reference = item.reference, !reference.isEmpty {
            body += "\n## A reference answer (for comparison only; do not quote from it)\n\(reference)\n"
        }
        body += "\n" + TeacherPrompts.answerSteps + "\n\n" + TeacherPrompts.outputFormat(labels, quotedFrom: "answer")
        return [ChatMessage(role: "system", content: TeacherPrompts.system), ChatMessage(role: "user", content: body)]
    }
}

/// Code solutions (KodCode): the tests run first; faulty and improvable code is quoted.
public struct CodeTask: AnnotationTask {
    public let name = "code"
    public let runsCode = true
    public let labels: [SpanLabel]

    /// `improvementScore` is the reward for tokens in `improvement_code` (0 by default).
    public init(improvementScore: Double = 0) {
        labels = [
            SpanLabel(name: "wrong_code", score: -1, meaning: TeacherPrompts.codeWrong),
            SpanLabel(name: "improvement_code", score: improvementScore, meaning: TeacherPrompts.codeImprovable),
        ]
    }

    public func messages(for item: TaskItem, execution: ExecutionResult?) throws -> [ChatMessage] {
        var body = TeacherPrompts.codeIntro
        body += "\n\n## Problem\n\(item.prompt)\n\n## Submitted solution\n```python\n\(item.response)\n```\n"
        body += "\n## Test run\n" + TeacherPrompts.describe(execution, tests: item.tests) + "\n"
        body += "\n" + TeacherPrompts.codeSteps + "\n\n" + TeacherPrompts.outputFormat(labels, quotedFrom: "solution")
        return [ChatMessage(role: "system", content: TeacherPrompts.system), ChatMessage(role: "user", content: body)]
    }
}
