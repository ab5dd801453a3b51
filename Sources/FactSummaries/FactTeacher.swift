import Foundation
import JSON

/// A phrase the teacher quotes from the summary.
public struct TeacherQuote: Sendable, Equatable {
    /// The quote, exactly the summary's text at `range`.
    public var text: String
    /// Unicode scalar offsets into the summary.
    public var range: Range<Int>
}

/// The teacher's verdict on one summary: the critique, the quotes, and the check they come from.
public struct TeacherReview: Sendable, Equatable {
    /// The reasoning paragraph (`textual_feedback`).
    public var critique: String
    /// Phrases that state facts of the post correctly (`good_spans`), in summary order.
    public var good: [TeacherQuote]
    /// Phrases that are wrong, vague, invented or repeated (`poor_spans`), in summary order.
    public var poor: [TeacherQuote]
    /// The fact check behind it.
    public var check: SummaryCheck

    /// The answer as the summarization annotation prompt asks for it: one JSON object, critique first, on one
    /// line without spaces between tokens (the reward model's target has the same layout).
    public var json: String {
        func list(_ quotes: [TeacherQuote]) -> String {
            "[" + quotes.map { JSONValue.quoted($0.text) }.joined(separator: ",") + "]"
        }
        return "{\"textual_feedback\":\(JSONValue.quoted(critique)),\"good_spans\":\(list(good)),"
            + "\"poor_spans\":\(list(poor))}"
    }
}

/// How many phrases the teacher quotes and how much context a quote takes.
public struct TeacherOptions: Sendable, Equatable {
    /// Most good phrases quoted (0: no limit). The annotation prompt asks for 0 to 2.
    public var maxGood = 2
    /// Most poor phrases quoted (0: no limit).
    public var maxPoor = 2
    /// Words before a value a quote takes along ("moved to" before "Lisbon"), stopping at punctuation.
    public var contextWords = 2

    /// The defaults, matching the annotation prompt.
    public init() {}

    /// At most `maxQuotes` phrases per label (0: every right fact and every problem), other settings at their defaults.
    public init(maxQuotes: Int) {
        (maxGood, maxPoor) = (maxQuotes, maxQuotes)
    }
}

/// The built-in rule-based teacher: it reads the post's facts, checks the summary against them and
/// writes what a careful LLM teacher writes — a critique with its reasoning, then verbatim quotes.
///
/// Quoting policy:
/// 1. each mention of a fact becomes a phrase: its words plus up to `contextWords` words before it,
///    never crossing punctuation or another mention; a repeat is quoted as the repeated words;
/// 2. the phrase is good when it states the post's value, poor when wrong, vague or invented, and
///    repeats are poor; touching phrases of one label (only spaces between) become one quote;
/// 3. poor quotes are kept by severity (wrong, invented, vague, repeated), good quotes by importance
///    (`importance`), except that the first occurrence of a repeated phrase comes first, so the two
///    bind apart; ties go to the earlier phrase;
/// 4. a quote that an aligner binding each quote to its first free exact occurrence (good quotes
///    first) would place elsewhere is widened by plain words until it binds where it stands, or dropped.
public struct FactTeacher: Sendable {
    /// Limits and context.
    public var options: TeacherOptions

    /// A teacher with `options`.
    public init(options: TeacherOptions = TeacherOptions()) {
        self.options = options
    }

    /// The review of `summary` against the facts of its post.
    public func review(_ facts: PostFacts, summary: String) -> TeacherReview {
        let check = FactChecker.check(facts, summary: summary)
        let text = Array(summary.unicodeScalars)
        var (good, poor) = quotes(check, facts: facts, text: text)
        bind(&good, &poor, check: check, text: text)
        let critique = Critique.write(check, facts: facts, repeats: check.repeats.map { TextScan.string(text[$0]) })
        func quote(_ range: Range<Int>) -> TeacherQuote {
            TeacherQuote(text: TextScan.string(text[range]), range: range)
        }
        return TeacherReview(critique: critique, good: good.map(quote), poor: poor.map(quote), check: check)
    }

    /// The review of `summary` against the post text `post`, or why the post is not one of the task's.
    public func review(post: String, summary: String) -> Result<TeacherReview, PostParseFailure> {
        PostParser.parse(post).map { review($0, summary: summary) }
    }

    /// A phrase to quote, before selection.
    struct Candidate {
        var range: Range<Int>
        var good: Bool
        /// Lower is kept first.
        var priority: Int
    }

    /// Rules 1–3: candidate phrases, merged, selected, each list in summary order.
    func quotes(_ check: SummaryCheck, facts: PostFacts, text: [Unicode.Scalar]) -> ([Range<Int>], [Range<Int>]) {
        let occupied = (check.mentions.map(\.range) + check.repeats).sorted { $0.lowerBound < $1.lowerBound }
        var candidates: [Candidate] = []
        for mention in check.mentions {
            let priority: Int
            let good: Bool
            if let expected = facts[mention.slot] {
                good = !mention.vague && mention.value == expected
                priority = good ? Self.importance(mention.slot) : (mention.vague ? 2 : 0)
            } else {
                guard !mention.vague else { continue }  // blurring a fact the post lacks harms nothing
                good = false
                priority = 1
            }
            let range = widenLeft(mention.range, text: text, occupied: occupied)
            candidates.append(Candidate(range: range, good: good, priority: priority))
        }
        candidates += check.repeats.map { Candidate(range: $0, good: false, priority: 3) }
        candidates.sort { $0.range.lowerBound < $1.range.lowerBound }

        var merged: [Candidate] = []
        for candidate in candidates {
            if var last = merged.last, last.good == candidate.good, last.range.upperBound <= candidate.range.lowerBound,
                text[last.range.upperBound..<candidate.range.lowerBound].allSatisfy({ $0 == " " })
            {
                last.range = last.range.lowerBound..<candidate.range.upperBound
                last.priority = min(last.priority, candidate.priority)
                merged[merged.count - 1] = last
            } else {
                merged.append(candidate)
            }
        }
        // A good phrase inside the first occurrence of a repeat is quoted first, so the repeat binds to the copy.
        let firstOccurrences = check.repeats.compactMap { TextScan.occurrences(Array(text[$0]), in: text).first }
        for index in merged.indices where merged[index].good {
            if firstOccurrences.contains(where: { $0.overlaps(merged[index].range) }) { merged[index].priority = 0 }
        }
        func select(_ list: [Candidate], limit: Int) -> [Range<Int>] {
            let ranked = list.sorted { ($0.priority, $0.range.lowerBound) < ($1.priority, $1.range.lowerBound) }
            let kept = limit > 0 ? Array(ranked.prefix(limit)) : ranked
            return kept.map(\.range).sorted { $0.lowerBound < $1.lowerBound }
        }
        return (select(merged.filter(\.good), limit: options.maxGood),
                select(merged.filter { !$0.good }, limit: options.maxPoor))
    }

    /// Good quotes go to the facts a summary most often gets wrong first: where and when, then the pet,
    /// then the person's details and question, the name last.
    static func importance(_ slot: Slot) -> Int {
        switch slot {
        case .city, .month: return 1
        case .pet, .petName: return 2
        case .age, .job: return 3
        case .ask: return 4
        case .name: return 5
        }
    }

    /// Adds up to `contextWords` plain words before `range`, stopping at punctuation and other mentions.
    func widenLeft(_ range: Range<Int>, text: [Unicode.Scalar], occupied: [Range<Int>]) -> Range<Int> {
        let barrier = occupied.filter { $0.upperBound <= range.lowerBound }.map(\.upperBound).max() ?? 0
        var start = range.lowerBound
        for _ in 0..<options.contextWords {
            var cursor = start
            while cursor > barrier, text[cursor - 1] == " " { cursor -= 1 }
            guard cursor > barrier, cursor < start, TextScan.isWordScalar(text[cursor - 1]) else { break }
            var wordStart = cursor
            while wordStart > barrier, TextScan.isWordScalar(text[wordStart - 1]) || text[wordStart - 1] == "-" {
                wordStart -= 1
            }
            guard wordStart == 0 || !TextScan.isWordScalar(text[wordStart - 1]), wordStart >= barrier else { break }
            start = wordStart
        }
        return start..<range.upperBound
    }

    /// Rule 4: simulates first-free exact binding in answer order and widens or drops quotes that would move.
    func bind(_ good: inout [Range<Int>], _ poor: inout [Range<Int>], check: SummaryCheck, text: [Unicode.Scalar]) {
        let occupied = check.mentions.map(\.range) + check.repeats
        let words = TextScan.words(text)
        var taken: [Range<Int>] = []
        func binding(_ range: Range<Int>) -> Range<Int>? {
            let candidates = TextScan.occurrences(Array(text[range]), in: text)
            return candidates.first { c in !taken.contains { $0.overlaps(c) } }
                ?? candidates.first { !taken.contains($0) } ?? candidates.first
        }
        let all = good + poor
        func settle(_ list: [Range<Int>]) -> [Range<Int>] {
            var kept: [Range<Int>] = []
            for original in list {
                var range = original
                // Widen by whole plain words that overlap no mention and no other quote, right first.
                let others = all.filter { $0 != original }
                var tries = 0
                while binding(range) != range, tries < 6 {
                    tries += 1
                    let right = words.first { $0.lowerBound >= range.upperBound }
                    let left = words.last { $0.upperBound <= range.lowerBound }
                    func plain(_ word: Range<Int>?) -> Range<Int>? {
                        guard let word, !occupied.contains(where: { $0.overlaps(word) }),
                            !others.contains(where: { $0.overlaps(word) })
                        else { return nil }
                        return word
                    }
                    if let word = plain(right) {
                        range = range.lowerBound..<word.upperBound
                    } else if let word = plain(left) {
                        range = word.lowerBound..<range.upperBound
                    } else {
                        break
                    }
                }
                guard binding(range) == range else { continue }
                taken.append(range)
                kept.append(range)
            }
            return kept
        }
        good = settle(good)
        poor = settle(poor)
    }
}
