import FactSummaries
import Foundation
import Testing

/// Posts and summaries: reproducible, readable back, of the intended lengths, with the mistakes they claim.
@Suite struct PostTests {
    static let options: FactTaskOptions = {
        var options = FactTaskOptions()
        options.trainCount = 1500
        options.evalCount = 300
        return options
    }()
    static let train = try! FactTask.items(.train, options: options)
    static let eval = try! FactTask.items(.eval, options: options)

    static func words(_ text: String) -> Int { text.split(separator: " ").count }

    @Test("the same seed gives the same items; another seed or split gives others")
    func reproducible() throws {
        var options = Self.options
        options.trainCount = 50
        let again = try FactTask.items(.train, options: options)
        #expect(again == Array(Self.train.prefix(50)), "a smaller count is a prefix of a larger one")
        #expect(try FactTask.item(.train, index: 7, options: options) == Self.train[7])
        options.seed = 1
        let other = try FactTask.items(.train, options: options)
        #expect(zip(other, Self.train).filter { $0.post.text == $1.post.text }.count < 2)
        let evalTexts = Set(Self.eval.map(\.post.text))
        #expect(Self.train.filter { evalTexts.contains($0.post.text) }.isEmpty, "no eval post is a train post")
        #expect(Self.train[0].id == "train-000000" && Self.eval[299].id == "eval-000299")
    }

    @Test("the parser reads back exactly the facts of every post, distractors never match")
    func parsesFactsBack() {
        for item in Self.train + Self.eval {
            let parsed = PostParser.parse(item.post.text)
            #expect(parsed == .success(item.post.facts), "\(item.id): \(item.post.text)")
        }
    }

    @Test("posts, references and imperfect summaries have the intended lengths and facts")
    func lengths() {
        let posts = Self.train.map { Self.words($0.post.text) }
        let references = Self.train.map { Self.words($0.reference) }
        #expect(posts.min()! >= 35 && posts.max()! <= 80, "post words \(posts.min()!)...\(posts.max()!)")
        #expect(references.min()! >= 10 && references.max()! <= 25, "words \(references.min()!)...\(references.max()!)")
        let counts = Self.train.map(\.post.facts.count)
        #expect(counts.min()! >= 5 && counts.max()! <= 8)
        let mistakes = Self.train.map(\.imperfect.errors.count)
        #expect(mistakes.contains(0) && mistakes.contains(1) && mistakes.contains(2))
        for kind in ErrorKind.allCases {
            #expect(Self.train.contains { $0.imperfect.errors.contains { $0.kind == kind } }, "some summary is \(kind)")
        }
    }

    @Test("the metric finds every reference fully right and every injected mistake where it was put")
    func metricMatchesInjectedMistakes() {
        for item in Self.train {
            let facts = item.post.facts
            let reference = FactChecker.check(facts, summary: item.reference)
            #expect(reference.accuracy == 1 && reference.repeats.isEmpty && reference.unsupported.isEmpty)

            let check = FactChecker.check(facts, summary: item.imperfect.text)
            var expected: [Slot: FactStatus] = [:]
            for error in item.imperfect.errors {
                switch error.kind {
                case .wrong: expected[error.slot!] = .wrong
                case .missing: expected[error.slot!] = .missing
                case .vague: expected[error.slot!] = .vague
                case .repeated: #expect(check.repeats.contains(error.range!), "\(item.imperfect.text)")
                }
            }
            for fact in check.facts {
                #expect(fact.status == expected[fact.slot] ?? .correct, "\(fact.slot): \(item.imperfect.text)")
            }
            #expect(check.unsupported.isEmpty)
            #expect(check.repeats.count == item.imperfect.errors.filter { $0.kind == .repeated }.count)
        }
    }

    @Test("fact accuracy by hand: a wrong city, a missing job, an invented age, a vague month")
    func accuracyByHand() throws {
        let post = "My name is Ana. I work as a nurse. I moved to Lisbon in March. My brother Tom still lives in "
            + "Oslo. I brought my cat, Pico, with me. Any advice on making friends?"
        let facts = try PostParser.parse(post).get()
        #expect(facts.count == 7)
        let right = "Ana, a nurse, moved to Lisbon in March with her cat Pico and asks for tips on making friends."
        #expect(FactChecker.accuracy(post: post, summary: right) == 1)
        let wrongCity = "Ana, a nurse, moved to Oslo in March with her cat Pico and asks for tips on making friends."
        #expect(FactChecker.accuracy(post: post, summary: wrongCity) == 6.0 / 7)
        let noJob = "Ana moved to Lisbon in March with her cat Pico and asks for tips on making friends."
        #expect(FactChecker.check(facts, summary: noJob).check(.job)?.status == .missing)
        let invented = "Ana, a 31-year-old nurse, moved to Lisbon in March with her cat Pico and asks for tips on "
            + "making friends."
        let inventedCheck = FactChecker.check(facts, summary: invented)
        #expect(inventedCheck.unsupported.map(\.value) == ["31"] && inventedCheck.accuracy == 7.0 / 8)
        let vague = "Ana, a nurse, moved to Lisbon recently with her cat Pico and asks for tips on making friends."
        #expect(FactChecker.check(facts, summary: vague).check(.month)?.status == .vague)
        #expect(FactChecker.accuracy(post: "Just some text.", summary: right) == nil)
    }

    @Test("options out of range are errors naming the option")
    func badOptions() {
        var options = FactTaskOptions()
        options.trainCount = -1
        #expect(throws: FactTaskError.self) { try FactTask.items(.train, options: options) }
        options = FactTaskOptions()
        options.post.distractors = 0...99
        #expect(throws: FactTaskError.self) { try options.validate() }
        options = FactTaskOptions()
        options.imperfect.mistakeCountWeights = [0, 0]
        #expect(throws: FactTaskError.self) { try options.validate() }
    }
}
