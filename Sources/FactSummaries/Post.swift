import Foundation

/// The facts one post states: always a name, a city and a question; some of age, job, month and a pet.
public struct PostFacts: Sendable, Equatable {
    /// The stated value of each slot the post has (ages as digits).
    public private(set) var values: [Slot: String]

    /// Facts from slot values; a name, a city and an ask are required, and a pet comes with its name.
    public init(_ values: [Slot: String]) throws {
        for slot in [Slot.name, .city, .ask] where values[slot] == nil {
            throw FactTaskError.badFacts("a post needs a \(slot.rawValue)")
        }
        if (values[.pet] == nil) != (values[.petName] == nil) {
            throw FactTaskError.badFacts("a pet and its name come together")
        }
        for (slot, value) in values where !Lexicon.values(slot).contains(value) {
            throw FactTaskError.badFacts("'\(value)' is not a known \(slot.rawValue)")
        }
        self.values = values
    }

    /// Facts the generator drew from the lexicon (valid by construction).
    init(drawn values: [Slot: String]) { self.values = values }

    /// The value of `slot`, if the post states it.
    public subscript(slot: Slot) -> String? { values[slot] }
    /// The slots stated, in `Slot` order.
    public var slots: [Slot] { values.keys.sorted() }
    /// How many facts there are to get right.
    public var count: Int { values.count }
    /// The person's name.
    public var name: String { values[.name]! }
    /// The person's pronouns.
    public var pronouns: Pronouns { Pronouns(name: name) }
}

/// A generated post: its text, its facts, and the fact-like values its distractor sentences mention
/// (the plausible wrong answers a careless summary picks up).
public struct Post: Sendable, Equatable {
    /// The post as a reader sees it.
    public var text: String
    /// What it states about its author.
    public var facts: PostFacts
    /// Values of each slot that appear in the post but are not the author's (a brother's name, a visited city).
    public var distractorValues: [Slot: [String]]
}

/// How posts are drawn.
public struct PostOptions: Sendable, Equatable {
    /// How many of the optional fact groups (age, job, month, pet with its name) a post states.
    public var optionalFacts: ClosedRange<Int> = 2...4
    /// How many distractor sentences a post holds.
    public var distractors: ClosedRange<Int> = 3...4

    /// The defaults: posts of 35–75 words (about 50 on average) stating 5–8 facts.
    public init() {}

    /// Checks the ranges against what the templates can produce.
    public func validate() throws {
        guard optionalFacts.lowerBound >= 0, optionalFacts.upperBound <= 4 else {
            throw FactTaskError.badOption("optional facts must lie in 0...4, got \(optionalFacts)")
        }
        guard distractors.lowerBound >= 0, distractors.upperBound <= PostTemplates.distractors.count else {
            throw FactTaskError.badOption(
                "distractors must lie in 0...\(PostTemplates.distractors.count), got \(distractors)")
        }
    }
}

/// Draws posts from the templates.
public struct PostGenerator: Sendable {
    /// The options every post is drawn with.
    public var options: PostOptions

    /// A generator; `options` must be valid.
    public init(options: PostOptions = PostOptions()) throws {
        try options.validate()
        self.options = options
    }

    /// One post from `rng`.
    func post(using rng: inout TaskRandom) -> Post {
        var values: [Slot: String] = [:]
        values[.name] = rng.pick(Lexicon.names)
        values[.city] = rng.pick(Lexicon.cities)
        values[.ask] = rng.pick(Lexicon.asks)
        var groups: [[Slot]] = [[.age], [.job], [.month], [.pet, .petName]]
        rng.shuffle(&groups)
        let optionalCount = options.optionalFacts.lowerBound + rng.below(options.optionalFacts.count)
        for group in groups.prefix(optionalCount) {
            for slot in group { values[slot] = rng.pick(Lexicon.values(slot)) }
        }
        let facts = PostFacts(drawn: values)

        // Sentences: the greeting first, the question last, facts and distractors shuffled between.
        var middle: [String] = []
        for slot in [Slot.age, .job, .pet] where values[slot] != nil {
            middle.append(PostTemplates.render(rng.pick(PostTemplates.facts(slot)), values))
        }
        let move = values[.month] == nil ? PostTemplates.cityOnly : PostTemplates.cityAndMonth
        middle.append(PostTemplates.render(rng.pick(move), values))
        var distractorValues: [Slot: [String]] = [:]
        var templates = PostTemplates.distractors
        rng.shuffle(&templates)
        let distractorCount = options.distractors.lowerBound + rng.below(options.distractors.count)
        for template in templates.prefix(distractorCount) {
            let (sentence, used) = PostTemplates.renderDistractor(template, facts: facts, using: &rng)
            middle.append(sentence)
            for (slot, value) in used { distractorValues[slot, default: []].append(value) }
        }
        rng.shuffle(&middle)
        let sentences = [PostTemplates.render(rng.pick(PostTemplates.facts(.name)), values)] + middle
            + [PostTemplates.render(rng.pick(PostTemplates.facts(.ask)), values)]
        return Post(text: sentences.joined(separator: " "), facts: facts, distractorValues: distractorValues)
    }
}

/// The sentence templates of posts. `{slot}` is a fact's value, `{a_job}` the job with its article,
/// `{other_*}` a distractor's value (never the post's own), and `{weather}`, `{tram}`, `{hobby}`,
/// `{relative}` filler. `PostParser` reads facts back with the fact templates only, so a distractor
/// must never match one (checked by the tests over many seeds).
enum PostTemplates {
    static func facts(_ slot: Slot) -> [String] {
        switch slot {
        case .name: return ["Hi all, I am {name}.", "My name is {name}.", "Hello, {name} here."]
        case .age: return ["I am {age} years old.", "I just turned {age}."]
        case .job: return ["I work as {a_job}.", "I am {a_job} by trade."]
        case .pet, .petName:
            return ["I brought my {pet}, {pet_name}, with me.", "My {pet} {pet_name} came along.",
                    "I live with my {pet}, {pet_name}."]
        case .ask: return ["Does anyone have tips on {ask}?", "Any advice on {ask}?", "I would love tips on {ask}."]
        case .city, .month: return cityAndMonth + cityOnly
        }
    }

    static let cityAndMonth = ["I moved to {city} in {month}.", "In {month} I moved to {city}.",
                               "Last {month} I moved to {city}."]
    static let cityOnly = ["I moved to {city} a while ago.", "I recently moved to {city}.", "I now live in {city}."]

    static let distractors = [
        "My {relative} {other_name} still lives in {other_city}.",
        "My old flatmate had a {other_pet} called {other_pet_name}.",
        "The weather has been {weather} all week.",
        "I visited {other_city} once in {other_month}.",
        "The trams here are always {tram}.",
        "My {relative} is {a_other_job}.",
        "Lately I have been into {hobby}.",
        "My neighbour {other_name} plays the piano at night.",
    ]

    /// Every fact template, each once.
    static let allFacts: [String] = {
        var seen = Set<String>()
        return Slot.allCases.flatMap(facts).filter { seen.insert($0).inserted }
    }()

    static func render(_ template: String, _ values: [Slot: String]) -> String {
        var text = template
        for (slot, value) in values {
            text = text.replacingOccurrences(of: "{\(slot.rawValue)}", with: value)
            if slot == .job { text = text.replacingOccurrences(of: "{a_job}", with: Lexicon.withArticle(value)) }
        }
        return text
    }

    /// A distractor sentence and the slot values it mentions; other values differ from the post's own.
    static func renderDistractor(_ template: String, facts: PostFacts, using rng: inout TaskRandom)
        -> (String, [(Slot, String)])
    {
        var text = template
        var used: [(Slot, String)] = []
        // A sister has a woman's name, a brother a man's; a neighbour either.
        let relativeIsFemale = rng.below(2) == 0
        text = text.replacingOccurrences(of: "{relative}", with: relativeIsFemale ? "sister" : "brother")
        func other(_ slot: Slot, from pool: [String]) -> String {
            let value = rng.pick(pool, except: [facts[slot]].compactMap { $0 })
            used.append((slot, value))
            return value
        }
        if text.contains("{other_name}") {
            let pool = relativeIsFemale ? Lexicon.femaleNames : Lexicon.maleNames
            text = text.replacingOccurrences(of: "{other_name}", with: other(.name, from: pool))
        }
        for (slot, key) in [(Slot.city, "{other_city}"), (.month, "{other_month}"), (.pet, "{other_pet}"),
                            (.petName, "{other_pet_name}")] where text.contains(key) {
            text = text.replacingOccurrences(of: key, with: other(slot, from: Lexicon.values(slot)))
        }
        if text.contains("{a_other_job}") {
            let job = Lexicon.withArticle(other(.job, from: Lexicon.jobs))
            text = text.replacingOccurrences(of: "{a_other_job}", with: job)
        }
        text = text.replacingOccurrences(of: "{weather}", with: rng.pick(Lexicon.weather))
        text = text.replacingOccurrences(of: "{tram}", with: rng.pick(Lexicon.trams))
        text = text.replacingOccurrences(of: "{hobby}", with: rng.pick(Lexicon.hobbies))
        return (text, used)
    }
}

/// A problem with the task's options or data.
public enum FactTaskError: Error, Equatable, CustomStringConvertible {
    /// An option is out of range.
    case badOption(String)
    /// Facts that no post can state.
    case badFacts(String)
    /// A file could not be written.
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case let .badOption(detail): return "fact task option: \(detail)"
        case let .badFacts(detail): return "fact task facts: \(detail)"
        case let .io(path, detail): return "\(path): \(detail)"
        }
    }
}
