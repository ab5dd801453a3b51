/// The Porter stemmer as NLTK's `PorterStemmer` runs it in its default mode (`NLTK_EXTENSIONS`).
///
/// ROUGE with `use_stemmer` is defined by this stemmer, so it follows NLTK rule for rule rather than
/// Porter's paper: NLTK's irregular forms (`skies` → `sky`, `dying` → `die`), words of one or two
/// characters left alone, `ies`/`ied` on four-letter words kept as `ie`, the `y` → `i` rule only after
/// a consonant that is not the word's first letter, `alli`, `fulli` and `logi` in step 2, and a
/// two-letter vowel-consonant stem counting as *o. Each rule list applies its first rule whose suffix
/// matches; when that rule's condition fails the word is left as it is (no later rule is tried).
public struct PorterStemmer: Sendable {
    typealias Word = [Unicode.Scalar]

    /// Creates a stemmer.
    public init() {}

    /// The stem of `word`, lower-cased first (Unicode lower-case mapping, as Python's `str.lower`).
    public func stem(_ word: String) -> String {
        var letters = Word()
        for scalar in word.unicodeScalars {
            letters.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
        if let irregular = Self.irregular[String(String.UnicodeScalarView(letters))] { return irregular }
        // NLTK measures the word as given, before lower-casing.
        if word.unicodeScalars.count <= 2 { return String(String.UnicodeScalarView(letters)) }
        var stem = step1a(letters)
        stem = step1b(stem)
        stem = step1c(stem)
        stem = step2(stem)
        stem = step3(stem)
        stem = step4(stem)
        stem = step5a(stem)
        stem = step5b(stem)
        return String(String.UnicodeScalarView(stem))
    }

    /// NLTK's table of irregular forms, from form to stem.
    static let irregular: [String: String] = {
        let forms: [(String, [String])] = [
            ("sky", ["sky", "skies"]), ("die", ["dying"]), ("lie", ["lying"]), ("tie", ["tying"]),
            ("news", ["news"]), ("inning", ["innings", "inning"]), ("outing", ["outings", "outing"]),
            ("canning", ["cannings", "canning"]), ("howe", ["howe"]), ("proceed", ["proceed"]),
            ("exceed", ["exceed"]), ("succeed", ["succeed"]),
        ]
        var table: [String: String] = [:]
        for (stem, words) in forms { for word in words { table[word] = stem } }
        return table
    }()

    // MARK: - Conditions

    /// Consonant flags in one left-to-right pass: `y` is a consonant at the start or after a vowel.
    func consonants(_ w: Word) -> [Bool] {
        var flags: [Bool] = []
        flags.reserveCapacity(w.count)
        for (i, c) in w.enumerated() {
            if Self.isVowelLetter(c) {
                flags.append(false)
            } else if c == "y" {
                flags.append(i == 0 ? true : !flags[i - 1])
            } else {
                flags.append(true)
            }
        }
        return flags
    }

    static func isVowelLetter(_ c: Unicode.Scalar) -> Bool {
        c == "a" || c == "e" || c == "i" || c == "o" || c == "u"
    }

    /// m, the number of vowel-to-consonant transitions ([C](VC)^m[V]).
    func measure(_ w: Word) -> Int {
        let flags = consonants(w)
        var m = 0
        for i in flags.indices.dropLast() where !flags[i] && flags[i + 1] { m += 1 }
        return m
    }

    func containsVowel(_ w: Word) -> Bool { consonants(w).contains(false) }

    func isConsonant(_ w: Word, _ i: Int) -> Bool { consonants(Array(w[...i]))[i] }

    /// *d: ends with a double consonant.
    func endsDoubleConsonant(_ w: Word) -> Bool {
        w.count >= 2 && w[w.count - 1] == w[w.count - 2] && isConsonant(w, w.count - 1)
    }

    /// *o: ends consonant-vowel-consonant, the last not w, x or y; or (NLTK) is a two-letter vowel-consonant.
    func endsCVC(_ w: Word) -> Bool {
        let n = w.count
        if n >= 3 {
            let flags = consonants(w)
            if flags[n - 3] && !flags[n - 2] && flags[n - 1] && w[n - 1] != "w" && w[n - 1] != "x" && w[n - 1] != "y" {
                return true
            }
        }
        if n == 2 {
            let flags = consonants(w)
            return !flags[0] && flags[1]
        }
        return false
    }

    // MARK: - Rule lists

    /// What a rule requires of the stem left after its suffix is removed.
    enum Condition: Sendable {
        case always
        case measureAbove0
        case measureAbove1
        /// Step 4's `ion`: m > 1 and the stem ends in `s` or `t`.
        case measureAbove1EndingSOrT
        /// Step 2's NLTK `logi` rule: m > 0 of the word less its last three letters.
        case logi(Word)
    }

    struct Rule: Sendable {
        let suffix: Word
        let replacement: Word
        let condition: Condition

        init(_ suffix: String, _ replacement: String, _ condition: Condition) {
            self.suffix = Array(suffix.unicodeScalars)
            self.replacement = Array(replacement.unicodeScalars)
            self.condition = condition
        }
    }

    func holds(_ condition: Condition, _ stem: Word) -> Bool {
        switch condition {
        case .always: return true
        case .measureAbove0: return measure(stem) > 0
        case .measureAbove1: return measure(stem) > 1
        case .measureAbove1EndingSOrT: return measure(stem) > 1 && (stem.last == "s" || stem.last == "t")
        case .logi(let word): return measure(Array(word.dropLast(3))) > 0
        }
    }

    static func ends(_ w: Word, _ suffix: String) -> Bool { ends(w, Array(suffix.unicodeScalars)) }

    static func ends(_ w: Word, _ suffix: Word) -> Bool {
        w.count >= suffix.count && w[(w.count - suffix.count)...].elementsEqual(suffix)
    }

    static func replacing(_ w: Word, _ count: Int, _ replacement: String) -> Word {
        Array(w.dropLast(count)) + Array(replacement.unicodeScalars)
    }

    /// The first rule whose suffix matches decides: applied if its condition holds, else the word stays.
    func apply(_ rules: [Rule], to w: Word) -> Word {
        for rule in rules where Self.ends(w, rule.suffix) {
            let stem = Array(w.dropLast(rule.suffix.count))
            return holds(rule.condition, stem) ? stem + rule.replacement : w
        }
        return w
    }

    // MARK: - Steps

    func step1a(_ w: Word) -> Word {
        if Self.ends(w, "ies") && w.count == 4 { return Self.replacing(w, 3, "ie") }
        return apply(Self.step1aRules, to: w)
    }

    static let step1aRules = [
        Rule("sses", "ss", .always), Rule("ies", "i", .always), Rule("ss", "ss", .always),
        Rule("s", "", .always),
    ]

    func step1b(_ w: Word) -> Word {
        if Self.ends(w, "ied") { return Self.replacing(w, 3, w.count == 4 ? "ie" : "i") }
        if Self.ends(w, "eed") {
            let stem = Array(w.dropLast(3))
            return measure(stem) > 0 ? stem + Array("ee".unicodeScalars) : w
        }
        var intermediate: Word?
        for suffix in ["ed", "ing"] where Self.ends(w, suffix) {
            let stem = Array(w.dropLast(suffix.unicodeScalars.count))
            if containsVowel(stem) {
                intermediate = stem
                break
            }
        }
        guard let stem = intermediate else { return w }
        if Self.ends(stem, "at") { return Self.replacing(stem, 2, "ate") }
        if Self.ends(stem, "bl") { return Self.replacing(stem, 2, "ble") }
        if Self.ends(stem, "iz") { return Self.replacing(stem, 2, "ize") }
        if endsDoubleConsonant(stem) {
            // hopp → hop, but fall, hiss and fizz keep both letters.
            let last = stem[stem.count - 1]
            return last == "l" || last == "s" || last == "z" ? stem : Array(stem.dropLast())
        }
        return measure(stem) == 1 && endsCVC(stem) ? stem + ["e"] : stem
    }

    func step1c(_ w: Word) -> Word {
        guard Self.ends(w, "y") else { return w }
        let stem = Array(w.dropLast())
        return stem.count > 1 && isConsonant(stem, stem.count - 1) ? stem + ["i"] : w
    }

    func step2(_ w: Word) -> Word {
        if Self.ends(w, "alli") && measure(Array(w.dropLast(4))) > 0 { return step2(Self.replacing(w, 4, "al")) }
        return apply(Self.step2Rules + [Rule("fulli", "ful", .measureAbove0), Rule("logi", "log", .logi(w))], to: w)
    }

    static let step2Rules: [Rule] = [
        ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("bli", "ble"),
        ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
        ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"),
        ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
    ].map { Rule($0.0, $0.1, .measureAbove0) }

    func step3(_ w: Word) -> Word { apply(Self.step3Rules, to: w) }

    static let step3Rules: [Rule] = [
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
    ].map { Rule($0.0, $0.1, .measureAbove0) }

    func step4(_ w: Word) -> Word { apply(Self.step4Rules, to: w) }

    static let step4Rules: [Rule] = {
        let before = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent"]
        let after = ["ou", "ism", "ate", "iti", "ous", "ive", "ize"]
        return before.map { Rule($0, "", .measureAbove1) } + [Rule("ion", "", .measureAbove1EndingSOrT)]
            + after.map { Rule($0, "", .measureAbove1) }
    }()

    func step5a(_ w: Word) -> Word {
        guard Self.ends(w, "e") else { return w }
        let stem = Array(w.dropLast())
        let m = measure(stem)
        if m > 1 || (m == 1 && !endsCVC(stem)) { return stem }
        return w
    }

    func step5b(_ w: Word) -> Word {
        guard Self.ends(w, "ll") else { return w }
        return measure(Array(w.dropLast())) > 1 ? Array(w.dropLast()) : w
    }
}
