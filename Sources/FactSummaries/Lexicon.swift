import Foundation

/// The kinds of fact a post states. Every post has a name, a city and a question; the others vary.
public enum Slot: String, CaseIterable, Sendable, Codable, Comparable {
    case name
    case age
    case job
    case city
    case month
    case pet
    case petName = "pet_name"
    case ask

    /// The order facts are listed in (and read in a summary).
    public static func < (lhs: Slot, rhs: Slot) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The word lists the task draws from. The lists of one slot never overlap another slot's, and no entry
/// contains another entry of any list as a whole word, so a mention in a summary names exactly one slot.
public enum Lexicon {
    /// Person names read as a woman's (pronouns she/her).
    public static let femaleNames = [
        "Ana", "Maria", "Lena", "Sofia", "Clara", "Nora", "Ines", "Mila", "Rosa", "Elena", "Julia", "Hana",
        "Leah", "Zoe", "Alice", "Emma", "Greta", "Ida", "Vera", "Tessa",
    ]
    /// Person names read as a man's (pronouns he/his).
    public static let maleNames = [
        "Tom", "Omar", "Jonas", "Luca", "Ben", "Felix", "Hugo", "Ivan", "Karl", "Leo", "Marco", "Noah",
        "Oscar", "Paul", "Sam", "Theo", "Adam", "Emil", "Nils", "Rafael",
    ]
    /// Every person name.
    public static let names = femaleNames + maleNames
    public static let jobs = [
        "nurse", "teacher", "baker", "plumber", "chemist", "librarian", "pilot", "architect", "carpenter",
        "translator", "engineer", "chef", "florist", "painter", "journalist", "pharmacist", "electrician",
        "gardener", "mechanic", "accountant",
    ]
    public static let cities = [
        "Lisbon", "Oslo", "Berlin", "Madrid", "Vienna", "Prague", "Dublin", "Warsaw", "Porto", "Milan", "Lyon",
        "Krakow", "Zurich", "Athens", "Seville", "Munich", "Bergen", "Riga", "Tallinn", "Ghent", "Leeds",
        "Glasgow", "Turin", "Malmo",
    ]
    public static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]
    public static let pets = ["cat", "dog", "parrot", "rabbit", "hamster", "turtle", "ferret", "gecko", "canary"]
    public static let petNames = [
        "Pico", "Miso", "Biscuit", "Luna", "Rex", "Mochi", "Pepper", "Ziggy", "Nala", "Olive", "Bruno", "Tofu",
        "Coco", "Ginger", "Maple", "Pixel", "Waffle", "Juno",
    ]
    public static let asks = [
        "making friends", "finding a flat", "learning the language", "cheap groceries", "meeting people",
        "finding a gym", "buying a bike", "local hiking trails", "quiet cafes", "opening a bank account",
        "finding a doctor", "night classes",
    ]
    /// Ages a post may state.
    public static let ages = 19...64
    /// Weather words for distractor sentences (they name no fact).
    static let weather = ["rainy", "sunny", "cold", "windy", "grey", "warm"]
    static let trams = ["late", "full", "noisy", "slow"]
    static let hobbies = ["chess", "baking bread", "old films", "board games", "jazz", "birds"]

    /// The lowercase words that stand in for a fact without stating it, with the slot they blur.
    /// Summaries are matched against these case-sensitively, as they are written.
    public static let vague: [(phrase: String, slot: Slot)] = [
        ("Someone", .name), ("professional", .job), ("a new city", .city), ("recently", .month),
        ("at some point", .month), ("pet", .pet), ("asks for advice", .ask),
    ]

    /// The values a slot can take, as they appear in text (ages as digits).
    public static func values(_ slot: Slot) -> [String] {
        switch slot {
        case .name: return names
        case .age: return ages.map(String.init)
        case .job: return jobs
        case .city: return cities
        case .month: return months
        case .pet: return pets
        case .petName: return petNames
        case .ask: return asks
        }
    }

    /// Whether a name is read as a woman's.
    public static func isFemale(_ name: String) -> Bool { femaleNames.contains(name) }

    /// "a nurse", "an engineer".
    public static func withArticle(_ noun: String) -> String {
        let vowels: Set<Character> = ["a", "e", "i", "o", "u"]
        return (noun.first.map { vowels.contains($0) } ?? false ? "an " : "a ") + noun
    }
}

/// Pronouns for the person a post is about.
public struct Pronouns: Sendable, Equatable {
    /// "she" / "he".
    public var subject: String
    /// "her" / "him".
    public var object: String
    /// "her" / "his".
    public var possessive: String

    /// The pronouns of `name` (see `Lexicon.isFemale`).
    public init(name: String) {
        let female = Lexicon.isFemale(name)
        subject = female ? "she" : "he"
        object = female ? "her" : "him"
        possessive = female ? "her" : "his"
    }
}

/// SplitMix64: a small seedable generator whose whole state is one integer, so data is reproducible
/// from a seed on every platform (Swift's own generators are not).
struct TaskRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The generator of item `index` of stream `stream`, independent of every other item.
    init(seed: UInt64, stream: UInt64, index: Int) {
        var mixer = TaskRandom(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        for _ in 0..<2 { _ = mixer.next() }
        state = mixer.next() ^ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0), by rejection so every value is equally likely.
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let r = next()
            if r < limit { return Int(r % b) }
        }
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// One element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// A value of `items` other than `excluded` (the list must hold another).
    mutating func pick<T: Equatable>(_ items: [T], except excluded: [T]) -> T {
        let allowed = items.filter { !excluded.contains($0) }
        return pick(allowed)
    }

    /// Fisher–Yates with this generator (Swift's `shuffled(using:)` is not promised stable across versions).
    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, below(i + 1))
        }
    }
}
