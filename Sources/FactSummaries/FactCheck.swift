import Foundation

/// A value of some slot found in a summary.
public struct Mention: Sendable, Equatable {
    /// The slot the words belong to.
    public var slot: Slot
    /// The value as written (ages as digits; a vague phrase as written).
    public var value: String
    /// Whether it is a vague stand-in ("a new city") rather than a value.
    public var vague: Bool
    /// Unicode scalar offsets into the summary ("29-year-old" whole for an age).
    public var range: Range<Int>
}

/// How one fact of the post fares in a summary.
public enum FactStatus: String, Sendable, Codable, CaseIterable {
    /// Stated with the post's value, and with no other.
    case correct
    /// Stated with another value.
    case wrong
    /// Only hinted at by a vague phrase.
    case vague
    /// Not stated.
    case missing
}

/// One fact of the post and what the summary does with it.
public struct FactCheck: Sendable, Equatable {
    /// The fact's slot.
    public var slot: Slot
    /// The post's value.
    public var expected: String
    /// The verdict.
    public var status: FactStatus
    /// The mention that decided it (the wrong one, else the first correct or vague one); nil when missing.
    public var mention: Mention?
}

/// The task metric for one summary: every fact of the post checked, plus what the summary adds or repeats.
public struct SummaryCheck: Sendable, Equatable {
    /// One check per fact of the post, in `Slot` order.
    public var facts: [FactCheck]
    /// The first mention of each slot the post does not state (an invented age, a job the post never gives).
    public var unsupported: [Mention]
    /// Later occurrences of phrases said twice (see `FactChecker`; the first occurrence is not listed).
    public var repeats: [Range<Int>]
    /// Every mention found outside the repeats, in summary order.
    public var mentions: [Mention]

    /// Facts stated correctly.
    public var correctCount: Int { facts.filter { $0.status == .correct }.count }

    /// Fact accuracy: correct facts over the post's facts plus the slots the summary invents, in [0, 1].
    public var accuracy: Double {
        let total = facts.count + unsupported.count
        return total == 0 ? 0 : Double(correctCount) / Double(total)
    }

    /// The check of `slot`, if the post states it.
    public func check(_ slot: Slot) -> FactCheck? { facts.first { $0.slot == slot } }
}

/// Checks summaries against posts: the task's own metric, used by the teacher, PPO and the demo.
///
/// Reading a summary:
/// 1. every lexicon value (names, jobs, cities, months, pets, pet names, questions), every vague phrase
///    and every number (an age, with a following "-year-old" or " years old") is found as whole words,
///    case-sensitively, longest first, never overlapping;
/// 2. a phrase of three or more words (two with a content word) that occurs again later marks the later
///    occurrence as a repeat, and so does a value or vague phrase of a slot said again (one word is enough);
///    mentions inside repeats are not counted again;
/// 3. per fact of the post: any other value of its slot makes it wrong; else its own value makes it
///    correct; else a vague phrase of its slot makes it vague; else it is missing. A value of a slot the
///    post does not state is unsupported.
/// The summary is taken to be about the post's author: a brother's city, even correctly attributed,
/// counts as a wrong city.
public enum FactChecker {
    /// The check of `summary` against the facts of a post.
    public static func check(_ facts: PostFacts, summary: String) -> SummaryCheck {
        let text = Array(summary.unicodeScalars)
        var repeats = TextScan.repeats(text)
        var mentions: [Mention] = []
        for mention in TextScan.mentions(text) where !repeats.contains(where: { $0.overlaps(mention.range) }) {
            // A value said again ("34-year-old 34-year-old", "Oslo ... Oslo") is a repeat of the fact, however short.
            if mentions.contains(where: { $0.slot == mention.slot && $0.value == mention.value }) {
                repeats.append(mention.range)
            } else {
                mentions.append(mention)
            }
        }
        repeats.sort { $0.lowerBound < $1.lowerBound }
        var checks: [FactCheck] = []
        for slot in facts.slots {
            let expected = facts[slot]!
            let own = mentions.filter { $0.slot == slot }
            let check: FactCheck
            if let wrong = own.first(where: { !$0.vague && $0.value != expected }) {
                check = FactCheck(slot: slot, expected: expected, status: .wrong, mention: wrong)
            } else if let right = own.first(where: { !$0.vague }) {
                check = FactCheck(slot: slot, expected: expected, status: .correct, mention: right)
            } else if let vague = own.first {
                check = FactCheck(slot: slot, expected: expected, status: .vague, mention: vague)
            } else {
                check = FactCheck(slot: slot, expected: expected, status: .missing, mention: nil)
            }
            checks.append(check)
        }
        var unsupported: [Mention] = []
        for mention in mentions where !mention.vague && facts[mention.slot] == nil {
            if !unsupported.contains(where: { $0.slot == mention.slot }) { unsupported.append(mention) }
        }
        return SummaryCheck(facts: checks, unsupported: unsupported, repeats: repeats, mentions: mentions)
    }

    /// Fact accuracy of `summary` against the post text `post`, or nil when the post is not one of the
    /// task's (see `PostParser`).
    public static func accuracy(post: String, summary: String) -> Double? {
        guard case let .success(facts) = PostParser.parse(post) else { return nil }
        return check(facts, summary: summary).accuracy
    }
}

/// Finding words, mentions and repeats in scalar arrays.
enum TextScan {
    /// Every (surface, slot, vague) the summary is searched for, longest first so "a new city" wins over parts.
    static let patterns: [(scalars: [Unicode.Scalar], slot: Slot, vague: Bool)] = {
        var list: [(scalars: [Unicode.Scalar], slot: Slot, vague: Bool)] = []
        for slot in Slot.allCases where slot != .age {
            for value in Lexicon.values(slot) { list.append((Array(value.unicodeScalars), slot, false)) }
        }
        for (phrase, slot) in Lexicon.vague { list.append((Array(phrase.unicodeScalars), slot, true)) }
        return list.sorted { $0.scalars.count > $1.scalars.count }
    }()

    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "'"
    }

    static func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }

    static func mentions(_ text: [Unicode.Scalar]) -> [Mention] {
        var taken = [Bool](repeating: false, count: text.count)
        var found: [Mention] = []
        func free(_ range: Range<Int>) -> Bool { !range.contains { taken[$0] } }
        func bounded(_ range: Range<Int>) -> Bool {
            (range.lowerBound == 0 || !isWordScalar(text[range.lowerBound - 1]))
                && (range.upperBound == text.count || !isWordScalar(text[range.upperBound]))
        }
        for pattern in patterns {
            for range in occurrences(pattern.scalars, in: text) where bounded(range) && free(range) {
                range.forEach { taken[$0] = true }
                let value = string(text[range])
                found.append(Mention(slot: pattern.slot, value: value, vague: pattern.vague, range: range))
            }
        }
        var index = 0
        while index < text.count {
            guard isDigit(text[index]), index == 0 || !isWordScalar(text[index - 1]) else {
                index += 1
                continue
            }
            var end = index
            while end < text.count, isDigit(text[end]) { end += 1 }
            let digits = index..<end
            if end == text.count || !isWordScalar(text[end]), free(digits) {
                var range = digits
                for suffix in ["-year-old", " years old", " year old"] {
                    let s = Array(suffix.unicodeScalars)
                    let after = end + s.count
                    if after <= text.count, Array(text[end..<after]) == s, bounded(index..<after) {
                        range = index..<after
                        break
                    }
                }
                let value = String(Int(string(text[digits])) ?? -1)
                found.append(Mention(slot: .age, value: value, vague: false, range: range))
            }
            index = end
        }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// Words as scalar ranges: runs of letters, digits, apostrophes and inner hyphens.
    static func words(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var index = 0
        while index < text.count {
            guard isWordScalar(text[index]) else {
                index += 1
                continue
            }
            var end = index + 1
            while end < text.count,
                isWordScalar(text[end]) || (text[end] == "-" && end + 1 < text.count && isWordScalar(text[end + 1]))
            {
                end += 1
            }
            words.append(index..<end)
            index = end
        }
        return words
    }

    /// Short words that alone do not make a repeat worth pointing at ("with her", "in a").
    static let functionWords: Set<String> = ["with", "that", "from", "into", "have", "their", "them", "then"]

    /// Later occurrences of word sequences (three words or more, or two with a content word of four
    /// letters or more) that already occurred, each as the range from its first word's start to its last word's end.
    static func repeats(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        let spans = words(text)
        let keys = spans.map { string(text[$0]) }
        var result: [Range<Int>] = []
        var j = 1
        while j < keys.count {
            var best = 0
            for i in 0..<j {
                var k = 0
                while i + k < j, j + k < keys.count, keys[i + k] == keys[j + k] { k += 1 }
                best = max(best, k)
            }
            let contentful = keys[j..<j + best].contains { $0.count > 3 && !functionWords.contains($0) }
            if best >= 3 || (best == 2 && contentful) {
                result.append(spans[j].lowerBound..<spans[j + best - 1].upperBound)
                j += best
            } else {
                j += 1
            }
        }
        return result
    }

    static func occurrences(_ pattern: [Unicode.Scalar], in text: [Unicode.Scalar]) -> [Range<Int>] {
        guard !pattern.isEmpty, pattern.count <= text.count else { return [] }
        var found: [Range<Int>] = []
        for start in 0...(text.count - pattern.count) where text[start] == pattern[0] {
            if Array(text[start..<start + pattern.count]) == pattern { found.append(start..<start + pattern.count) }
        }
        return found
    }

    static func string(_ slice: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: slice)
        return String(view)
    }
}
