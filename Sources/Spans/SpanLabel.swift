import Foundation

/// A span label the teacher fills (`good_spans`, `wrong_code`, …) and the score its tokens get.
public struct SpanLabel: Sendable, Equatable, Codable {
    /// The JSON key the teacher answers under.
    public var name: String
    /// The reward a token inside such a span gets (+1 good, −1 poor, per the task's labels).
    public var score: Double
    /// What the teacher is told the label means.
    public var meaning: String

    /// Creates a label.
    public init(name: String, score: Double, meaning: String = "") {
        self.name = name
        self.score = score
        self.meaning = meaning
    }
}

/// The key every task's critique is read from; the parser also accepts common aliases.
public let critiqueKey = "textual_feedback"
