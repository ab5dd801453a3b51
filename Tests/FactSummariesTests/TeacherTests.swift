@testable import FactSummaries
import Foundation
@testable import Spans
import Tasks
import Testing

/// The rule-based teacher: quotes exist verbatim, carry the right label, align where they stand, and the
/// critique reasons like the annotation prompt asks.
@Suite struct TeacherTests {
    static let labels = SummarizationTask().labels

    /// Whether `range` of the check's summary holds a mention that states the post's value.
    static func holdsCorrect(_ range: Range<Int>, _ check: SummaryCheck, _ facts: PostFacts) -> Bool {
        check.mentions.contains { m in
            !m.vague && facts[m.slot] == m.value && range.overlaps(m.range)
        }
    }

    /// Whether `range` touches a mistake: a wrong, vague or invented mention, or a repeat.
    static func touchesMistake(_ range: Range<Int>, _ check: SummaryCheck, _ facts: PostFacts) -> Bool {
        let bad = check.mentions.contains { m in
            guard range.overlaps(m.range) else { return false }
            guard let expected = facts[m.slot] else { return !m.vague }
            return m.vague || m.value != expected
        }
        return bad || check.repeats.contains { $0.overlaps(range) }
    }

    @Test("property: over 4000 summaries every quote is verbatim, labelled right and aligns exactly where it stands")
    func quotesAreVerbatimAndRight() throws {
        var options = FactTaskOptions()
        options.trainCount = 2000
        options.evalCount = 2000
        let items = try FactTask.items(.train, options: options) + FactTask.items(.eval, options: options)
        let teacher = FactTeacher()
        let aligner = SpanAligner()
        var poorCount = 0, goodCount = 0
        for item in items {
            let summary = item.imperfect.text
            let scalars = Array(summary.unicodeScalars)
            let facts = item.post.facts
            let review = teacher.review(facts, summary: summary)
            let check = review.check
            #expect(review.good.count <= 2 && review.poor.count <= 2)
            for quote in review.good + review.poor {
                #expect(String(String.UnicodeScalarView(scalars[quote.range])) == quote.text)
                #expect(summary.contains(quote.text))
            }
            for quote in review.good {
                #expect(Self.holdsCorrect(quote.range, check, facts), "good '\(quote.text)' in \(summary)")
                #expect(!Self.touchesMistake(quote.range, check, facts), "good '\(quote.text)' in \(summary)")
            }
            for quote in review.poor {
                #expect(Self.touchesMistake(quote.range, check, facts), "poor '\(quote.text)' in \(summary)")
                let outsideRepeats = check.repeats.contains { $0.overlaps(quote.range) } ? false
                    : Self.holdsCorrect(quote.range, check, facts)
                #expect(!outsideRepeats, "poor '\(quote.text)' holds a correct fact in \(summary)")
            }
            // Every visible mistake is quoted when there are no more than two of them.
            let visible = item.imperfect.errors.compactMap(\.range)
            if visible.count <= 2 {
                for range in visible {
                    #expect(review.poor.contains { $0.range.overlaps(range) }, "\(range) unquoted: \(summary)")
                }
            }
            // The annotator's own parser and aligner read the answer back to the same places.
            let answer = try AnswerParser.parse(review.json, labels: Self.labels).get()
            #expect(answer.critique == review.critique)
            let aligned = aligner.align(answer.spans, labels: Self.labels, in: summary)
            let expected = review.good.map { ("good_spans", $0.range) } + review.poor.map { ("poor_spans", $0.range) }
            #expect(aligned.count == expected.count)
            for (span, (label, range)) in zip(aligned, expected) {
                #expect(span.match == .exact && span.label == label && span.start == range.lowerBound
                    && span.end == range.upperBound, "\(span) vs \(label) \(range) in \(summary)")
            }
            poorCount += review.poor.count
            goodCount += review.good.count
        }
        #expect(goodCount > items.count && poorCount > items.count / 2)
    }

    @Test("the critique of the brief's example: right name and pet, wrong month, missing job")
    func critiqueExample() throws {
        let post = "Hi all, I am Ana. I work as a nurse. The weather has been rainy all week. In March I moved to "
            + "Lisbon. I visited Oslo once in May. My cat Pico came along. Any advice on making friends?"
        let summary = "Ana moved to Lisbon in May with her cat Pico and asks for tips on making friends."
        let review = try FactTeacher().review(post: post, summary: summary).get()
        #expect(review.critique == "The summary calls her Ana, puts her in Lisbon, names the cat Pico and reports "
            + "her question about making friends as the post does, but moves her in May; the post says March. "
            + "It leaves out that she is a nurse. 5 of 7 facts are right.")
        #expect(review.good.map(\.text) == ["Ana moved to Lisbon", "with her cat Pico"], "touching phrases merge")
        #expect(review.poor.map(\.text) == ["in May"])
        #expect(review.json.hasPrefix("{\"textual_feedback\":\"The summary calls her Ana"))
        let spans = #""good_spans":["Ana moved to Lisbon","with her cat Pico"],"poor_spans":["in May"]}"#
        #expect(review.json.hasSuffix(spans))
    }

    @Test("a reference summary gets praise only; a repeat, a vague phrase and an invented fact are named")
    func otherCritiques() throws {
        let post = "My name is Omar. I am 41 years old. I moved to Porto a while ago. Does anyone have tips on "
            + "finding a gym?"
        let teacher = FactTeacher()
        let summary = "Omar, 41, moved to Porto and asks for tips on finding a gym."
        let right = try teacher.review(post: post, summary: summary).get()
        #expect(right.poor.isEmpty && right.critique.hasSuffix("All 4 facts are right."))
        let flawed = "Someone, 41, moved to Porto moved to Porto in June and asks for tips on finding a gym."
        let review = try teacher.review(post: post, summary: flawed).get()
        #expect(review.critique.contains("says only 'Someone' where the post names Omar"))
        #expect(review.critique.contains("adds a month, June, that the post never gives"))
        #expect(review.critique.contains("repeats 'moved to Porto'"))
        #expect(review.critique.hasSuffix("3 of 5 facts are right."))
        #expect(review.poor.map(\.text) == ["Someone", "moved to Porto in June"], "the repeat and the month touch")
        #expect(review.good.map(\.text) == ["41", "moved to Porto"], "the first occurrence of the repeat is quoted")
    }

    @Test("a value said again is a repeat however short: a stutter earns no praise")
    func stutteredValuesAreRepeats() throws {
        let post = "My name is Ana. I am 34 years old. I work as a nurse. I moved to Zurich in September. "
            + "Any advice on finding a doctor?"
        let teacher = FactTeacher(options: TeacherOptions(maxQuotes: 0))
        let stutter = "Ana, a 34-year-old 34-year-old 34 years old nurse, moved to Zurich Zurich in September."
        let review = try teacher.review(post: post, summary: stutter).get()
        #expect(review.check.repeats.count == 3)
        #expect(review.check.accuracy == 5.0 / 6.0, "the repeats leave the five facts as they are; the question is missing")
        #expect(review.good.map(\.text) == ["Ana", "a 34-year-old", "nurse", "moved to Zurich", "in September"])
        #expect(review.poor.map(\.text) == ["34-year-old 34 years old", "Zurich"])
        #expect(review.critique.contains("repeats '34-year-old'") && review.critique.contains("repeats 'Zurich'"))
        // A wrong value next to the right one is still a wrong fact, not a repeat.
        let wrong = try teacher.review(post: post, summary: "Ana moved to Zurich, not Oslo.").get()
        #expect(wrong.check.repeats.isEmpty && wrong.check.check(.city)?.status == .wrong)
    }

    @Test("the teacher answers the summarization task's real conversation, with or without a reference")
    func answersAnnotationConversation() throws {
        let item = try FactTask.item(.eval, index: 3, options: FactTaskOptions())
        let teacher = FactTeacher()
        let expected = teacher.review(item.post.facts, summary: item.imperfect.text)
        for reference in [nil, item.reference] {
            let task = TaskItem(
                id: item.id, prompt: item.post.text, response: item.imperfect.text, reference: reference)
            let messages: [(role: String, content: String)] = try SummarizationTask()
                .messages(for: task, execution: nil).map { ($0.role, $0.content) }
            #expect(teacher.reply(to: messages) == .review(expected))
            // The annotator's re-ask appends turns; the first user turn still holds the post.
            let again = TeacherPrompts.reask(reason: "x", labels: Self.labels)
            let reask = messages + [("assistant", "oops"), ("user", again)]
            #expect(teacher.reply(to: reask).text == expected.json)
        }
        // The authors' layout: bold headings in one user message.
        let bold = "Critique this.\n\n**Original Post**\n\(item.post.text)\n\n**Generated Summary**\n"
            + item.imperfect.text + "\n"
        #expect(teacher.reply(to: [("user", bold)]).text == expected.json)
    }

    @Test("a summary that starts with '#' but no heading ('##, a mechanic, ...'), or an empty one, is reviewed")
    func hashesThatAreNoHeading() throws {
        let item = try FactTask.item(.train, index: 5, options: FactTaskOptions())
        let teacher = FactTeacher()
        for summary in ["##, a mechanic, moved to Prague.", "#1 " + item.imperfect.text] {
            let task = TaskItem(id: item.id, prompt: item.post.text, response: summary)
            let messages: [(role: String, content: String)] = try SummarizationTask()
                .messages(for: task, execution: nil).map { ($0.role, $0.content) }
            #expect(teacher.reply(to: messages) == .review(teacher.review(item.post.facts, summary: summary)), "\(summary)")
        }
        // An empty summary (a policy can sample one) leaves out every fact; it is reviewed, not refused.
        let empty = try SummarizationTask().messages(for: TaskItem(id: item.id, prompt: item.post.text, response: ""), execution: nil)
            .map { ($0.role, $0.content) }
        guard case let .review(review) = teacher.reply(to: empty) else { Issue.record("an empty summary was refused"); return }
        #expect(review.good.isEmpty && review.poor.isEmpty && review.critique.contains("0 of"), "\(review.critique)")
        #expect(TeacherConversation.headingTitle("## Summary") == "summary")
        #expect(TeacherConversation.headingTitle("#") == nil && TeacherConversation.headingTitle("####### x") == nil)
        #expect(TeacherConversation.headingTitle("##, a mechanic") == nil)
    }

    @Test("a conversation without a task post is refused in plain text, which the annotator records as unparseable")
    func refusals() throws {
        let teacher = FactTeacher()
        let foreign = TaskItem(id: "x", prompt: "My landlord raised the rent again. What should I do?",
                               response: "Rent went up; asks what to do.")
        let messages: [(role: String, content: String)] = try SummarizationTask().messages(for: foreign, execution: nil)
            .map { ($0.role, $0.content) }
        let conversations: [[(role: String, content: String)]] = [messages, [("user", "Hello there")], []]
        for conversation in conversations {
            let reply = teacher.reply(to: conversation)
            guard case let .refusal(text) = reply else {
                Issue.record("expected a refusal, got \(reply)")
                continue
            }
            #expect(!text.contains("{") && text.contains("built-in teacher"))
            #expect(AnswerParser.parse(text, labels: Self.labels) == .failure(.noJSON))
        }
        if case let .refusal(text) = teacher.reply(to: messages) {
            #expect(text.contains("found no sentence stating the author's name, city, ask"))
        }
    }
}
