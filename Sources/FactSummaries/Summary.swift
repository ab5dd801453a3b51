import Foundation

/// The kinds of mistake an imperfect summary makes.
public enum ErrorKind: String, CaseIterable, Sendable, Codable {
    /// A fact stated with another value (often one the post mentions about someone else).
    case wrong
    /// A fact left out.
    case missing
    /// A fact replaced by a vague phrase ("a new city", "recently").
    case vague
    /// A phrase said twice in a row.
    case repeated
}

/// A mistake put into a summary on purpose, with the characters it occupies (none for a missing fact).
public struct InjectedError: Sendable, Equatable {
    /// What kind of mistake.
    public var kind: ErrorKind
    /// The fact it concerns (nil for a repeat).
    public var slot: Slot?
    /// Unicode scalar offsets into the summary of the wrong, vague or repeated text.
    public var range: Range<Int>?
}

/// A summary and the mistakes it was written with.
public struct Summary: Sendable, Equatable {
    /// The summary text.
    public var text: String
    /// The injected mistakes, in summary order (empty for a reference summary).
    public var errors: [InjectedError]
}

/// How one fact is written in a summary.
enum Realization: Equatable {
    case correct
    case wrong(String)
    case missing
    case vague(String)
}

/// Writes summaries in the task's one sentence shape:
/// "Ana, a 29-year-old nurse, moved to Lisbon in March with her cat Pico and asks for tips on making friends."
/// Facts the post does not state are left out; each fact's realization (correct, wrong, missing, vague)
/// and an optional repeated clause come from the caller.
struct SummaryWriter {
    private var scalars = String.UnicodeScalarView()
    private var errors: [InjectedError] = []

    /// The summary of `facts` written with `plan` (absent slots are correct) and `repeat` clause, if any.
    static func write(_ facts: PostFacts, plan: [Slot: Realization] = [:], repeatClause: Clause? = nil) -> Summary {
        var writer = SummaryWriter()
        func how(_ slot: Slot) -> Realization? {
            guard facts[slot] != nil else { return nil }
            return plan[slot] ?? .correct
        }
        for slot in facts.slots where how(slot) == .missing {
            writer.errors.append(InjectedError(kind: .missing, slot: slot, range: nil))
        }
        func stated(_ slot: Slot) -> Realization? { how(slot) == .missing ? nil : how(slot) }
        writer.fact(.name, how(.name), facts)
        let age = stated(.age), job = stated(.job)
        if age != nil || job != nil {
            writer.plain(", ")
            if let age {
                if job != nil { writer.plain("a ") }
                writer.fact(.age, age, facts, suffix: job == nil ? "" : "-year-old")
                if job != nil { writer.plain(" ") }
            }
            if let job { writer.fact(.job, job, facts, article: age == nil) }
            writer.plain(",")
        }
        writer.clause(.move, repeating: repeatClause) { w in
            w.plain(" moved")
            if let city = stated(.city) {
                w.plain(" to ")
                w.fact(.city, city, facts)
            }
            if let month = stated(.month) {
                if case .vague = month { w.plain(" ") } else { w.plain(" in ") }
                w.fact(.month, month, facts)
            }
        }
        if let pet = stated(.pet) {
            writer.clause(.pet, repeating: repeatClause) { w in
                w.plain(" with \(facts.pronouns.possessive) ")
                w.fact(.pet, pet, facts)
                if let petName = stated(.petName) {
                    w.plain(" ")
                    w.fact(.petName, petName, facts)
                }
            }
        }
        if let ask = stated(.ask) {
            writer.clause(.ask, repeating: repeatClause) { w in
                if case .vague = ask { w.plain(" and ") } else { w.plain(" and asks for tips on ") }
                w.fact(.ask, ask, facts)
            }
        }
        writer.plain(".")
        let sorted = writer.errors.sorted { ($0.range?.lowerBound ?? -1) < ($1.range?.lowerBound ?? -1) }
        return Summary(text: String(writer.scalars), errors: sorted)
    }

    /// The clauses a repeat can double.
    enum Clause: CaseIterable {
        case move, pet, ask
    }

    private mutating func plain(_ text: String) { scalars.append(contentsOf: text.unicodeScalars) }

    private mutating func fact(_ slot: Slot, _ how: Realization?, _ facts: PostFacts, suffix: String = "",
                               article: Bool = false) {
        guard let how, let value = facts[slot] else { return }
        let start = scalars.count
        func surface(_ word: String) -> String {
            slot == .job && article ? Lexicon.withArticle(word) : word
        }
        switch how {
        case .correct:
            plain(surface(value) + suffix)
        case let .wrong(other):
            plain(surface(other) + suffix)
            errors.append(InjectedError(kind: .wrong, slot: slot, range: start..<scalars.count))
        case .missing:
            break  // recorded once, before writing
        case let .vague(phrase):
            plain(surface(phrase))
            errors.append(InjectedError(kind: .vague, slot: slot, range: start..<scalars.count))
        }
    }

    /// Writes a clause; when it is the one to repeat, writes it a second time after a space.
    private mutating func clause(_ which: Clause, repeating: Clause?, _ body: (inout SummaryWriter) -> Void) {
        let start = scalars.count
        body(&self)
        guard which == repeating else { return }
        // The clause starts with a space; the copy is the clause as written, space included. Errors
        // inside the copy are the same errors again: only the repeat itself is recorded.
        let copy = Array(scalars[scalars.index(scalars.startIndex, offsetBy: start)...])
        let copyStart = scalars.count + 1
        scalars.append(contentsOf: copy)
        errors.append(InjectedError(kind: .repeated, slot: nil, range: copyStart..<scalars.count))
    }
}
