import Foundation

/// Writes the teacher's critique paragraph from a fact check, in the order a careful reviewer reasons:
/// what the summary gets right, the first problem attached with "but", further problems, what it
/// leaves out, and the count of facts right. Quoted summary text is in single quotes, so the JSON stays
/// free of escaped double quotes.
enum Critique {
    static func write(_ check: SummaryCheck, facts: PostFacts, repeats: [String]) -> String {
        let p = facts.pronouns
        var status: [Slot: FactCheck] = [:]
        for fact in check.facts { status[fact.slot] = fact }
        func found(_ slot: Slot) -> String { status[slot]?.mention?.value ?? "" }
        let pet = facts[.pet] ?? "pet"

        var praise: [String] = []
        var problems: [String] = []
        var missing: [String] = []
        for slot in facts.slots {
            guard let fact = status[slot] else { continue }
            let value = fact.expected
            switch fact.status {
            case .correct:
                switch slot {
                case .name: praise.append("calls \(p.object) \(value)")
                case .age: praise.append("gives \(p.possessive) age as \(value)")
                case .job: praise.append("says \(p.subject) is \(Lexicon.withArticle(value))")
                case .city: praise.append("puts \(p.object) in \(value)")
                case .month: praise.append("dates the move to \(value)")
                case .pet:
                    if status[.petName]?.status == .correct {
                        praise.append("names the \(value) \(facts[.petName]!)")
                    } else {
                        praise.append("mentions \(p.possessive) \(value)")
                    }
                case .petName:
                    if status[.pet]?.status != .correct { praise.append("names the pet \(value)") }
                case .ask: praise.append("reports \(p.possessive) question about \(value)")
                }
            case .wrong:
                let other = found(slot)
                switch slot {
                case .name: problems.append("calls \(p.object) \(other); the post says \(value)")
                case .age: problems.append("makes \(p.object) \(other); the post says \(value)")
                case .job:
                    problems.append("makes \(p.object) \(Lexicon.withArticle(other)); the post says \(p.subject) is "
                        + Lexicon.withArticle(value))
                case .city: problems.append("moves \(p.object) to \(other); the post says \(value)")
                case .month: problems.append("moves \(p.object) in \(other); the post says \(value)")
                case .pet: problems.append("turns the \(value) into \(Lexicon.withArticle(other))")
                case .petName: problems.append("calls the \(pet) \(other); the post says \(value)")
                case .ask: problems.append("has \(p.object) ask about \(other); the post asks about \(value)")
                }
            case .vague:
                let phrase = "says only '\(found(slot))' where the post "
                switch slot {
                case .name: problems.append(phrase + "names \(value)")
                case .job: problems.append(phrase + "says \(p.subject) is \(Lexicon.withArticle(value))")
                case .city: problems.append(phrase + "names \(value)")
                case .month, .age, .pet: problems.append(phrase + "says \(value)")
                case .petName: problems.append(phrase + "names \(value)")
                case .ask: problems.append(phrase + "asks about \(value)")
                }
            case .missing:
                switch slot {
                case .name: missing.append("\(p.possessive) name, \(value)")
                case .age: missing.append("\(p.possessive) age, \(value)")
                case .job: missing.append("that \(p.subject) is \(Lexicon.withArticle(value))")
                case .city: missing.append("that \(p.subject) moved to \(value)")
                case .month: missing.append("that \(p.subject) moved in \(value)")
                case .pet:
                    if status[.petName]?.status == .missing {
                        missing.append("\(p.possessive) \(value) \(facts[.petName]!)")
                    } else {
                        missing.append("that \(facts[.petName]!) is \(Lexicon.withArticle(value))")
                    }
                case .petName:
                    if status[.pet]?.status != .missing { missing.append("the \(pet)'s name, \(value)") }
                case .ask: missing.append("\(p.possessive) question about \(value)")
                }
            }
        }
        for mention in check.unsupported {
            switch mention.slot {
            case .age: problems.append("adds an age, \(mention.value), that the post never gives")
            case .job: problems.append("adds a job, \(mention.value), that the post never gives")
            case .month: problems.append("adds a month, \(mention.value), that the post never gives")
            case .pet: problems.append("adds \(Lexicon.withArticle(mention.value)) that the post never mentions")
            case .petName: problems.append("adds a pet named \(mention.value) that the post never mentions")
            case .name, .city, .ask: problems.append("adds '\(mention.value)', which the post never mentions")
            }
        }
        problems += repeats.map { "repeats '\($0)'" }

        var sentences: [String] = []
        if praise.isEmpty {
            let first = problems.first.map { "The summary \($0)." }
            sentences.append(first ?? "The summary states none of the post's facts.")
        } else {
            let right = "The summary \(list(praise)) as the post does"
            sentences.append(problems.isEmpty ? right + "." : right + ", but \(problems[0]).")
        }
        for problem in problems.dropFirst() { sentences.append("It also \(problem).") }
        if !missing.isEmpty { sentences.append("It leaves out \(list(missing)).") }
        let total = check.facts.count + check.unsupported.count
        let right = check.correctCount
        if right == total && problems.isEmpty {
            sentences.append(total == 1 ? "The one fact is right." : "All \(total) facts are right.")
        } else {
            sentences.append("\(right) of \(total) facts are right.")
        }
        return sentences.joined(separator: " ")
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}
