import Foundation

/// How imperfect summaries are drawn: how many mistakes, of which kinds, and where wrong values come from.
public struct ImperfectOptions: Sendable, Equatable {
    /// Relative weight of 0, 1, 2, … mistakes per summary (index = count).
    public var mistakeCountWeights: [Double] = [0.1, 0.5, 0.4]
    /// Relative weight of a wrong fact.
    public var wrongWeight = 0.45
    /// Relative weight of a missing fact.
    public var missingWeight = 0.25
    /// Relative weight of a vague phrase.
    public var vagueWeight = 0.15
    /// Relative weight of a repeated clause.
    public var repeatedWeight = 0.15
    /// Chance that a wrong value is one the post mentions about someone else, when it mentions one.
    public var wrongFromDistractors = 0.6

    /// The defaults: mostly one or two mistakes, wrong facts the commonest.
    public init() {}

    /// Checks that the weights can be drawn from.
    public func validate() throws {
        let kinds = [wrongWeight, missingWeight, vagueWeight, repeatedWeight]
        for weight in mistakeCountWeights + kinds where !(weight >= 0 && weight.isFinite) {
            throw FactTaskError.badOption("weights must be finite and non-negative, got \(weight)")
        }
        guard mistakeCountWeights.reduce(0, +) > 0, kinds.reduce(0, +) > 0 else {
            throw FactTaskError.badOption("mistake count and kind weights must not all be zero")
        }
        guard mistakeCountWeights.count <= 5 else {
            throw FactTaskError.badOption("at most 4 mistakes per summary, got \(mistakeCountWeights.count - 1)")
        }
        guard (0...1).contains(wrongFromDistractors) else {
            throw FactTaskError.badOption("wrongFromDistractors must lie in 0...1, got \(wrongFromDistractors)")
        }
    }
}

/// The two summaries every post gets.
public enum Summaries {
    /// The correct one-sentence summary of `facts`.
    public static func reference(_ facts: PostFacts) -> String {
        SummaryWriter.write(facts).text
    }

    /// A summary of `post` with mistakes drawn by `options`; the same generator state gives the same summary.
    static func imperfect(_ post: Post, options: ImperfectOptions, using rng: inout TaskRandom) -> Summary {
        let facts = post.facts
        let count = weighted(options.mistakeCountWeights, using: &rng)
        let kinds: [(ErrorKind, Double)] = [
            (.wrong, options.wrongWeight), (.missing, options.missingWeight), (.vague, options.vagueWeight),
            (.repeated, options.repeatedWeight),
        ]
        var plan: [Slot: Realization] = [:]
        var repeatClause: SummaryWriter.Clause?
        var placed = 0
        var attempts = 0
        while placed < count, attempts < 32 {
            attempts += 1
            let kind = kinds[weighted(kinds.map(\.1), using: &rng)].0
            let free = facts.slots.filter { plan[$0] == nil }
            switch kind {
            case .wrong:
                guard !free.isEmpty else { continue }
                let slot = rng.pick(free)
                plan[slot] = .wrong(wrongValue(slot, post: post, options: options, using: &rng))
            case .missing:
                // The name is the subject of the sentence; without a pet its name cannot stand alone.
                let candidates = free.filter { $0 != .name && !($0 == .pet && plan[.petName] != nil) }
                guard !candidates.isEmpty else { continue }
                let slot = rng.pick(candidates)
                plan[slot] = .missing
                if slot == .pet { plan[.petName] = .missing }
            case .vague:
                let candidates = free.filter { slot in Lexicon.vague.contains { $0.slot == slot } }
                guard !candidates.isEmpty else { continue }
                let slot = rng.pick(candidates)
                let phrases = Lexicon.vague.filter { $0.slot == slot }.map(\.phrase)
                plan[slot] = .vague(rng.pick(phrases))
            case .repeated:
                guard repeatClause == nil else { continue }
                var clauses: [SummaryWriter.Clause] = [.move]
                if facts[.pet] != nil, plan[.pet] != .missing { clauses.append(.pet) }
                if plan[.ask] != .missing { clauses.append(.ask) }
                repeatClause = rng.pick(clauses)
            }
            placed += 1
        }
        // A bare "moved" is one word: said twice it is no phrase worth pointing at, so no repeat.
        let moveStates = [Slot.city, .month].compactMap { facts[$0] == nil ? nil : plan[$0] ?? .correct }
        if repeatClause == .move, !moveStates.contains(where: { $0 != .missing }) { repeatClause = nil }
        return SummaryWriter.write(facts, plan: plan, repeatClause: repeatClause)
    }

    /// Another value of `slot`: often one the post gives someone else, else any other from the lexicon.
    static func wrongValue(_ slot: Slot, post: Post, options: ImperfectOptions, using rng: inout TaskRandom)
        -> String
    {
        let truth = post.facts[slot]!
        let nearby = (post.distractorValues[slot] ?? []).filter { $0 != truth }
        if !nearby.isEmpty, rng.unit() < options.wrongFromDistractors { return rng.pick(nearby) }
        if slot == .age, let age = Int(truth) {
            // A plausible slip: a few years off, still a valid age.
            let offsets = [-5, -3, -2, -1, 1, 2, 3, 5].filter { Lexicon.ages.contains(age + $0) }
            return String(age + rng.pick(offsets))
        }
        if slot == .name {
            // Same pronouns, so the sentence still reads naturally.
            let pool = Lexicon.isFemale(truth) ? Lexicon.femaleNames : Lexicon.maleNames
            return rng.pick(pool, except: [truth])
        }
        return rng.pick(Lexicon.values(slot), except: [truth])
    }

    /// An index drawn with probability proportional to its weight.
    static func weighted(_ weights: [Double], using rng: inout TaskRandom) -> Int {
        let total = weights.reduce(0, +)
        var target = rng.unit() * total
        for (index, weight) in weights.enumerated() {
            if target < weight { return index }
            target -= weight
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }
}
