import Common
import Foundation
import Spans

/// Our teacher prompts, written for this project (not the authors' wording).
///
/// Each asks for reasoning first, in the critique, then for verbatim quotes as JSON, so the
/// quotes are justified by the critique and can be aligned back to the response.
public enum TeacherPrompts {
    /// The system turn shared by every built-in task.
    public static let system = """
        You are a meticulous reviewer who grades machine-written text. You reason step by step before \
        judging, you quote the text under review exactly as it is written, and you answer with a single \
        JSON object.
        """

    static let summaryIntro = """
        Below is a post and a summary of it written by a model. Judge how well the summary conveys \
        what matters in the post, then point at the exact phrases of the summary that make it good or bad.
        """

    static let summarySteps = """
        ## Work through it in this order
        1. Name the few facts a reader of the post needs most (who, what happened, what is asked).
        2. Check which of them the summary states, and whether it states them correctly.
        3. Note what it omits, gets wrong, repeats, or phrases vaguely.
        4. Choose the phrases of the summary that carry its most valuable content, and the phrases \
        responsible for its worst problems.
        Write this reasoning, briefly, as the feedback paragraph.
        """

    static let summaryGood = "0 to 2 phrases of the summary that state a key point of the post correctly"
    static let summaryPoor = """
        0 to 2 phrases of the summary that are wrong, redundant, unclear, or spend words on something \
        less important than what was left out
        """

    static let answerIntro = """
        Below is a user's request and an answer written by an assistant model. Judge the answer for \
        accuracy, relevance, clarity and completeness, then point at the exact phrases of the answer \
        that help or hurt it most.
        """

    static let answerSteps = """
        ## Work through it in this order
        1. Restate what the user actually needs, including needs they implied but did not state.
        2. Accuracy: is every claim correct? Relevance: does each part serve the request?
        3. Clarity: is it easy to follow? Completeness: is anything important missing?
        4. Find the evidence for each judgement in the answer's own words.
        Write this reasoning, briefly, as the feedback paragraph.
        """

    static let answerGood = "the few phrases of the answer that most help the user (correct, relevant, clear)"
    static let answerPoor = "the few phrases of the answer that most hurt it (incorrect, off-topic, confusing)"

    static let codeIntro = """
        Below is a programming problem, a submitted Python solution, and the result of running the \
        problem's unit tests against that solution. Explain the solution's correctness and quality, \
        then point at the exact lines or fragments of the submitted code that cause trouble.
        """

    static let codeSteps = """
        ## Work through it in this order
        1. Say what the code does and which approach it takes.
        2. If tests failed or timed out, trace the failure to the code responsible for it.
        3. Look for logic errors, unhandled edge cases, and needless inefficiency.
        4. Separate code that is wrong from code that works but could be better.
        Write this reasoning, briefly, as the feedback paragraph.
        """

    static let codeWrong = "fragments of the submitted code that are incorrect or make tests fail; [] if none"
    static let codeImprovable = "fragments of the submitted code that work but are inefficient or unclear; [] if none"

    /// The closing section: the JSON contract, identical in shape for every task, custom ones included.
    public static func outputFormat(_ labels: [SpanLabel], quotedFrom source: String) -> String {
        var text = "## Answer format\nReturn one JSON object and nothing else, with exactly these keys:\n"
        text += "- \"\(critiqueKey)\": one paragraph with your reasoning and verdict.\n"
        for label in labels {
            let meaning = label.meaning.isEmpty ? "phrases of the \(source) labelled \(label.name)" : label.meaning
            text += "- \"\(label.name)\": a list of strings: \(meaning).\n"
        }
        text += """
            Every string in those lists must be copied character for character from the \(source), \
            must be discussed in the feedback, and should be a short phrase rather than a whole \
            paragraph. Use [] for a list with nothing to quote. Precision matters more than coverage.

            Example of the shape (the content is illustrative):
            {"\(critiqueKey)": "…"
            """
        text += labels.map { ", \"\($0.name)\": [\"…\"]" }.joined() + "}"
        return text
    }

    /// The test outcome as the teacher sees it; output is clipped so a chatty test cannot flood the prompt.
    static func describe(_ execution: ExecutionResult?, tests: String?) -> String {
        guard let execution else {
            return "No tests were provided, so the code was not run."
        }
        var text: String
        if execution.timedOut {
            text = "The tests did not finish within the time limit (the run was stopped)."
        } else if execution.passed {
            text = "All tests passed (exit code 0)."
        } else {
            text = "The tests FAILED (exit code \(execution.exitCode))."
        }
        if !execution.passed, let tests, !tests.isEmpty {
            text += "\n\nTests:\n```python\n\(clip(tests, 3000))\n```"
        }
        let output = (execution.stdout + "\n" + execution.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        if !execution.passed, !output.isEmpty {
            text += "\n\nTest output:\n```\n\(clip(output, 3000))\n```"
        }
        return text
    }

    /// The follow-up turn sent once when an answer could not be parsed.
    public static func reask(reason: String, labels: [SpanLabel]) -> String {
        let keys = ([critiqueKey] + labels.map(\.name)).map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            Your previous answer could not be used: \(reason). Reply again with only one valid JSON \
            object with the keys \(keys); the span values are lists of strings quoted exactly from \
            the text under review. No prose and no code fences around it.
            """
    }

    /// Keeps the head and tail of long text, which is where tracebacks put what matters.
    static func clip(_ text: String, _ limit: Int) -> String { text.clippedMiddle(limit) }
}
