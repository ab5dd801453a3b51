import Chat
import Foundation
import Tokenizers

/// The fact-summary task's rule-based teacher as a chat endpoint: it answers the summarization
/// annotation prompt with its JSON review, and anything else with a plain-text refusal (`serve --teacher builtin`).
public struct BuiltinTeacher: ChatResponder {
    /// The teacher and its quoting limits.
    public var teacher: FactTeacher

    /// The endpoint for `teacher`.
    public init(teacher: FactTeacher = FactTeacher()) { self.teacher = teacher }

    public func respond(to messages: [ChatMessage]) -> (text: String, refusal: Bool) {
        let reply = teacher.reply(to: messages.map { ($0.role, $0.content) })
        if case .refusal = reply { return (reply.text, true) }
        return (reply.text, false)
    }
}
