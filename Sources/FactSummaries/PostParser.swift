import Foundation

/// Why a text could not be read as a post of the task.
public struct PostParseFailure: Error, Equatable, CustomStringConvertible {
    /// What was missing or contradictory.
    public var reason: String

    public var description: String { reason }
}

/// Reads a post's facts back from its text, so the teacher and the metric need nothing but the text.
///
/// Policy:
/// 1. the text is cut into sentences after `.`, `?` or `!` followed by white space or the end;
/// 2. each sentence is matched whole against the fact templates (`PostTemplates.allFacts`); sentences
///    that match none (distractors, greetings, an instruction around the post) are ignored;
/// 3. a slot stated twice with different values, a pet without its name, or a missing name, city or
///    question makes the text unreadable: the caller refuses rather than guesses.
public enum PostParser {
    /// The facts of `text`, or why it is not a post of this task.
    public static func parse(_ text: String) -> Result<PostFacts, PostParseFailure> {
        var values: [Slot: String] = [:]
        for sentence in sentences(text) {
            guard let found = templates.lazy.compactMap({ match($0[...], sentence[...]) }).first else { continue }
            for (slot, value) in found {
                if let earlier = values[slot], earlier != value {
                    return .failure(PostParseFailure(
                        reason: "the post states two different values for \(slot.rawValue): \(earlier) and \(value)"))
                }
                values[slot] = value
            }
        }
        let missing = [Slot.name, .city, .ask].filter { values[$0] == nil }
        if !missing.isEmpty {
            let names = missing.map(\.rawValue).joined(separator: ", ")
            return .failure(PostParseFailure(reason: "found no sentence stating the author's \(names)"))
        }
        do {
            return .success(try PostFacts(values))
        } catch {
            return .failure(PostParseFailure(reason: "\(error)"))
        }
    }

    /// Sentences of `text`, trimmed, terminal punctuation kept.
    static func sentences(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var previousEnds = false
        for character in text {
            if previousEnds && character.isWhitespace {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { result.append(trimmed) }
                current = ""
            }
            current.append(character)
            previousEnds = character == "." || character == "?" || character == "!"
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { result.append(trimmed) }
        return result
    }

    /// One piece of a template: literal text or a value to read.
    enum Part: Equatable {
        case literal(String)
        case slot(Slot, article: Bool)
    }

    static let templates: [[Part]] = PostTemplates.allFacts.map(parts)

    static func parts(_ template: String) -> [Part] {
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
            let key = String(rest[rest.index(after: open)..<close])
            if key == "a_job" {
                parts.append(.slot(.job, article: true))
            } else if let slot = Slot(rawValue: key) {
                parts.append(.slot(slot, article: false))
            } else {
                preconditionFailure("fact template \(template) has an unknown placeholder {\(key)}")
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        return parts
    }

    /// The slot values if `text` is exactly the template; tries every lexicon value at each slot.
    static func match(_ parts: ArraySlice<Part>, _ text: Substring) -> [Slot: String]? {
        guard let part = parts.first else { return text.isEmpty ? [:] : nil }
        let rest = parts.dropFirst()
        switch part {
        case let .literal(literal):
            guard text.hasPrefix(literal) else { return nil }
            return match(rest, text.dropFirst(literal.count))
        case .slot(.age, _):
            let digits = text.prefix { $0.isASCII && $0.isNumber }
            guard let age = Int(digits), Lexicon.ages.contains(age), digits.count <= 3 else { return nil }
            guard var found = match(rest, text.dropFirst(digits.count)) else { return nil }
            found[.age] = String(age)
            return found
        case let .slot(slot, article):
            for value in Lexicon.values(slot) {
                let surface = article ? Lexicon.withArticle(value) : value
                guard text.hasPrefix(surface), var found = match(rest, text.dropFirst(surface.count)) else { continue }
                found[slot] = value
                return found
            }
            return nil
        }
    }
}
