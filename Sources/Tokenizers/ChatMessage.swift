import Foundation
import JSON

/// One turn of an OpenAI-style conversation: what chat templates render, clients send and data files hold.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user`, `assistant`, or another role the template knows.
    public var role: String
    /// The text of the turn.
    public var content: String

    /// A message with `role` and `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Why a JSON value is not a conversation; `index` is the message's position in the list.
public struct ChatMessageError: Error, Equatable, CustomStringConvertible {
    /// The position of the bad message, or nil when the list itself is wrong.
    public let index: Int?
    /// What is wrong, in a form that can follow "messages[i]".
    public let reason: String

    public var description: String { index.map { "messages[\($0)]: \(reason)" } ?? "messages: \(reason)" }
}

extension ChatMessage {
    /// Reads a JSON message list as the OpenAI API writes it: each item an object with a string `role` and a
    /// `content` that is a string, a list of `{"type": "text", "text": ...}` parts (joined), or null (empty). The
    /// `developer` role reads as `system`.
    public static func list(fromJSON value: JSONValue?) throws -> [ChatMessage] {
        guard let items = value?.arrayValue else {
            throw ChatMessageError(index: nil, reason: "must be a list of {\"role\", \"content\"} objects")
        }
        return try items.enumerated().map { index, value in try message(from: value, index: index) }
    }

    /// One message of a list (see `list(fromJSON:)`); `index` is its position, for the error.
    public static func message(from value: JSONValue, index: Int) throws -> ChatMessage {
        guard let role = value["role"]?.stringValue else {
            throw ChatMessageError(index: index, reason: "needs a string 'role'")
        }
        let content: String
        switch value["content"] {
        case .string(let text)?:
            content = text
        case .array(let parts)?:
            content = try parts.map { part -> String in
                guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                    throw ChatMessageError(index: index, reason: "only text content parts are supported")
                }
                return text
            }.joined()
        case nil, .null?:
            content = ""
        default:
            throw ChatMessageError(index: index, reason: "content must be a string or an array of text parts")
        }
        return ChatMessage(role: role == "developer" ? "system" : role, content: content)
    }
}

extension ChatMessage {
    /// The roles a chat template is written for (`developer` reads as `system`): what data files and the server
    /// accept.
    public static let roles: Set<String> = ["system", "developer", "user", "assistant"]

    /// A conversation of a training or prompt file: `list(fromJSON:)` plus what a file must hold and a request may
    /// leave out: a known role and a string (or text parts) `content` in every message, and at least one message.
    public static func dataList(fromJSON value: JSONValue?) throws -> [ChatMessage] {
        guard let items = value?.arrayValue, !items.isEmpty else {
            throw ChatMessageError(index: nil, reason: "must be a non-empty list of {\"role\", \"content\"} objects")
        }
        for (index, item) in items.enumerated() {
            if let role = item["role"]?.stringValue, !roles.contains(role) {
                throw ChatMessageError(index: index, reason: "role '\(role.prefix(40))' is not one of "
                                       + roles.sorted().joined(separator: ", "))
            }
            if item["content"] == nil || item["content"] == .null {
                throw ChatMessageError(index: index, reason: "needs a 'content'")
            }
        }
        return try list(fromJSON: .array(items))
    }
}
