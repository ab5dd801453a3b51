import JSON

/// What a pairwise judge is asked to weigh, and how its answer decides the comparison.
public enum JudgeCriteria: String, Codable, Sendable, CaseIterable {
    /// A plain preference: which answer responds better to the request (the judge may say tie).
    case preference
    /// The Text2Grad paper's SLF5K summary judge: accuracy, completeness, conciseness and coherence scored
    /// 0–10 for each summary, plus an overall score; the higher overall score wins, equal scores tie.
    case slf5k

    /// The four criteria of the SLF5K judge, in the order the prompt lists them.
    public static let summaryCriteria = ["accuracy", "completeness", "conciseness", "coherence"]
}

/// Scores the SLF5K judge gives one summary.
public struct SummaryScores: Codable, Sendable, Equatable {
    /// The overall 0–10 score, which decides the comparison.
    public var overall: Double
    /// Each criterion's 0–10 score, by name.
    public var criteria: [String: Double]
}

/// A parsed verdict, by position: what the judge said about answer A and answer B.
public struct PositionalVerdict: Sendable, Equatable {
    /// Which position won; nil for a tie.
    public enum Winner: Sendable, Equatable {
        case a, b
    }

    /// The winning position, or nil for a tie.
    public var winner: Winner?
    /// The SLF5K judge's scores for A and B (nil for the preference judge).
    public var scores: (a: SummaryScores, b: SummaryScores)?

    public static func == (lhs: PositionalVerdict, rhs: PositionalVerdict) -> Bool {
        lhs.winner == rhs.winner && lhs.scores?.a == rhs.scores?.a && lhs.scores?.b == rhs.scores?.b
    }
}

/// The judge's prompts (our own wording) and the parsing of its JSON answers.
public enum JudgePrompts {
    /// The system message: impartial, JSON only.
    public static func system(_ criteria: JudgeCriteria) -> String {
        switch criteria {
        case .preference:
            return "You are a careful, impartial judge of answers to a user's request. You reply with JSON only."
        case .slf5k:
            return "You are a careful, impartial judge of text summaries. You reply with valid JSON only."
        }
    }

    /// The user message comparing answer `a` (shown first) with answer `b` for `prompt`.
    public static func user(_ criteria: JudgeCriteria, prompt: String, a: String, b: String) -> String {
        switch criteria {
        case .preference:
            return """
                Which of the two answers below responds better to the request? Weigh helpfulness, correctness and \
                clarity. Do not let the order in which the answers appear or their length sway you. Say "tie" only \
                when neither is better.

                [Request]
                \(prompt)

                [Answer A]
                \(a)

                [Answer B]
                \(b)

                Reply with one JSON object and nothing else:
                {"reason": "<one or two sentences>", "winner": "A" or "B" or "tie"}
                """
        case .slf5k:
            return """
                Compare two summaries of the post below. Score each summary from 0 to 10 on four criteria:
                - accuracy: does it state the post's main points faithfully, without factual errors?
                - completeness: does it include all the key information of the post?
                - conciseness: is it brief, without details that do not matter?
                - coherence: is it well organised and easy to follow?
                Then give each summary an overall score from 0 to 10. The order in which the summaries appear says \
                nothing about their quality.

                [Post]
                \(prompt)

                [Summary A]
                \(a)

                [Summary B]
                \(b)

                Reply with one JSON object and nothing else, in this form:
                {"A": {"strengths": ["..."], "weaknesses": ["..."], "accuracy": 0, "completeness": 0, \
                "conciseness": 0, "coherence": 0, "score": 0}, "B": {"strengths": ["..."], "weaknesses": ["..."], \
                "accuracy": 0, "completeness": 0, "conciseness": 0, "coherence": 0, "score": 0}}
                """
        }
    }

    /// The verdict in the judge's `answer`, or nil when it holds none.
    ///
    /// The answer may wrap its JSON in prose or a fence: the outermost `{ … }` is parsed. Numbers given as
    /// strings ("8", "8/10") are read; a preference answer that is not JSON may still be a bare A, B or tie.
    public static func parse(_ criteria: JudgeCriteria, answer: String) -> PositionalVerdict? {
        let object = outermostObject(answer)
        switch criteria {
        case .preference:
            let said: String
            if let winner = object?["winner"]?.stringValue {
                said = winner
            } else if object == nil {
                said = answer
            } else {
                return nil
            }
            switch said.trimmingSpaces().lowercased() {
            case "a", "answer a", "[answer a]": return PositionalVerdict(winner: .a)
            case "b", "answer b", "[answer b]": return PositionalVerdict(winner: .b)
            case "tie", "neither", "equal": return PositionalVerdict(winner: nil)
            default: return nil
            }
        case .slf5k:
            guard let a = object?["A"].flatMap(summaryScores), let b = object?["B"].flatMap(summaryScores) else {
                return nil
            }
            let winner: PositionalVerdict.Winner? = a.overall > b.overall ? .a : (b.overall > a.overall ? .b : nil)
            return PositionalVerdict(winner: winner, scores: (a, b))
        }
    }

    static func summaryScores(_ value: JSONValue) -> SummaryScores? {
        guard let overall = number(value["score"]) ?? number(value["overall"]) else { return nil }
        var criteria: [String: Double] = [:]
        for name in JudgeCriteria.summaryCriteria {
            if let score = number(value[name]) { criteria[name] = score }
        }
        return SummaryScores(overall: overall, criteria: criteria)
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let n)?: return n.isFinite ? n : nil
        case .string(let s)?:
            let head = s.trimmingSpaces().split(separator: "/").first.map(String.init) ?? ""
            return Double(head.trimmingSpaces())
        default: return nil
        }
    }

    /// The text from the first "{" to the last "}", parsed, if it is a JSON object.
    static func outermostObject(_ text: String) -> JSONValue? {
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"), start < end else { return nil }
        guard let value = try? JSONValue.parse(String(text[start...end])), value.objectValue != nil else { return nil }
        return value
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
