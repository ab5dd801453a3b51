import Foundation

/// What the teacher answers a chat conversation with.
public enum TeacherReply: Sendable, Equatable {
    /// A review, answered as its JSON object.
    case review(TeacherReview)
    /// A plain-text refusal (no JSON in it), when the conversation holds no post and summary it can read.
    case refusal(String)

    /// The text of the assistant's answer.
    public var text: String {
        switch self {
        case let .review(review): return review.json
        case let .refusal(text): return text
        }
    }
}

extension FactTeacher {
    /// Answers the conversation an annotation run sends (the summarization task's system and user turns)
    /// as an LLM teacher would; see `TeacherConversation` for how the post and summary are found.
    public func reply(to messages: [(role: String, content: String)]) -> TeacherReply {
        var lastProblem = "no user message has a post section and a summary section"
        for message in messages where message.role == "user" {
            guard let found = TeacherConversation.sections(message.content) else { continue }
            switch review(post: found.post, summary: found.summary) {
            case let .success(review): return .review(review)
            case let .failure(failure): lastProblem = Self.foreign(failure)
            }
        }
        return .refusal(Self.refusal(lastProblem))
    }

    /// The review of `summary` against the post text `post`, or a refusal when the post is not the task's.
    public func reply(post: String, summary: String) -> TeacherReply {
        switch review(post: post, summary: summary) {
        case let .success(review): return .review(review)
        case let .failure(failure): return .refusal(Self.refusal(Self.foreign(failure)))
        }
    }

    static func foreign(_ failure: PostParseFailure) -> String {
        "the post is not one of the built-in fact task's (\(failure))"
    }

    /// Plain text without braces, so no parser mistakes it for an answer.
    static func refusal(_ problem: String) -> String {
        "I cannot review this request: I am the built-in teacher of the fact-summary task and can only "
            + "check summaries of its posts, and here \(problem). Send a user message with a '## Post' "
            + "section holding a post of the task and a '## Summary to review' section."
    }
}

/// Finds the post and the summary in a teacher prompt.
///
/// Policy:
/// 1. a heading is a markdown ATX heading line (1 to 6 `#`, then a space or the end of the line) or a wholly bold
///    line (`**Original Post**`);
///    its title is the line without `#`, `*`, `:` and spaces, lower-cased;
/// 2. the post is the first section titled with "post"; the summary is the first section titled with
///    "summary" that is not a human, reference, ideal or example one;
/// 3. a section runs from the line after its heading to the next heading; it is trimmed of white space
///    at both ends (the quotes are then still substrings of the untrimmed summary).
public enum TeacherConversation {
    /// (post, summary) of a prompt, or nil when either section is absent or the post is empty.
    public static func sections(_ prompt: String) -> (post: String, summary: String)? {
        let lines = prompt.components(separatedBy: "\n")
        var headings: [(index: Int, title: String)] = []
        for (index, line) in lines.enumerated() {
            if let title = headingTitle(line) { headings.append((index, title)) }
        }
        func body(_ heading: Int) -> String {
            let start = headings[heading].index + 1
            let end = heading + 1 < headings.count ? headings[heading + 1].index : lines.count
            guard start < end else { return "" }
            return lines[start..<end].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let excluded = ["human", "reference", "ideal", "example"]
        guard let postHeading = headings.indices.first(where: { isPostTitle(headings[$0].title) }),
            let summaryHeading = headings.indices.first(where: { index in
                let title = headings[index].title
                return title.contains("summary") && !excluded.contains { title.contains($0) }
            })
        else { return nil }
        let post = body(postHeading), summary = body(summaryHeading)
        // An empty summary is still a summary to review (a policy can sample one): it leaves out every fact.
        guard !post.isEmpty else { return nil }
        return (post, summary)
    }

    static func isPostTitle(_ title: String) -> Bool { title.contains("post") && !title.contains("summary") }

    /// The lower-cased title of a heading line, or nil for an ordinary line.
    static func headingTitle(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        // CommonMark's ATX heading: 1 to 6 `#` then a space, a tab or the end of the line ("##, a" is text).
        let hashes = trimmed.prefix { $0 == "#" }.count
        let afterHashes = trimmed.dropFirst(hashes).first
        let isMarkdown = (1...6).contains(hashes) && (afterHashes == nil || afterHashes == " " || afterHashes == "\t")
        let isBold = trimmed.count > 4 && trimmed.hasPrefix("**") && trimmed.hasSuffix("**")
            && !trimmed.dropFirst(2).dropLast(2).contains("**")
        guard isMarkdown || isBold else { return nil }
        let title = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "#*: "))
        return title.isEmpty ? nil : title.lowercased()
    }
}
