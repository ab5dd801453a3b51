import Foundation
import JSON
import Testing

@testable import Evaluation

/// rouge-score, NLTK and sacrebleu numbers written by scripts/make_eval_fixtures.py.
enum MetricFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eval")

    /// The parsed fixture (read once per process).
    static let value: JSONValue = {
        let data = try! Data(contentsOf: root.appendingPathComponent("metrics.json"))
        return try! JSONValue.parse([UInt8](data))
    }()

    static var pairs: [JSONValue] { value["pairs"]!.arrayValue! }

    static func strings(_ value: JSONValue?) -> [String] { value!.arrayValue!.map { $0.stringValue! } }

    static func numbers(_ value: JSONValue?) -> [Double] { value!.arrayValue!.map { $0.numberValue! } }
}

/// Every metric is the references' arithmetic, so the tolerance is rounding noise.
let tolerance = 1e-9

@Suite("ROUGE and BLEU against rouge-score and sacrebleu")
struct MetricFixtureTests {
    @Test("the fixture was made with the sacrebleu release the signature names")
    func versions() {
        #expect(MetricFixture.value["versions"]?["sacrebleu"]?.stringValue == BLEU.referenceVersion)
        #expect(MetricFixture.pairs.count >= 250)
    }

    @Test("the Porter stemmer equals NLTK's on every word of the list")
    func stems() {
        let stemmer = PorterStemmer()
        for entry in MetricFixture.value["stems"]!.arrayValue! {
            let pair = MetricFixture.strings(entry)
            #expect(stemmer.stem(pair[0]) == pair[1], "stem of \(pair[0])")
        }
    }

    @Test("the 13a tokenizer equals sacrebleu's on the hard strings")
    func tokenizer() {
        for entry in MetricFixture.value["tokenized_13a"]!.arrayValue! {
            let pair = MetricFixture.strings(entry)
            let scalars = Tokenizer13a.rstripped(Array(pair[0].unicodeScalars))
            #expect(Tokenizer13a.tokenize(String(String.UnicodeScalarView(scalars))) == pair[1], "\(pair[0])")
        }
    }

    @Test("ROUGE-1/2/L/Lsum P, R and F1 per pair, with and without stemming", arguments: [false, true])
    func rouge(stemming: Bool) {
        let scorer = RougeScorer(stemming: stemming)
        var deviation = 0.0
        for (index, pair) in MetricFixture.pairs.enumerated() {
            let prediction = pair["prediction"]!.stringValue!
            let references = MetricFixture.strings(pair["references"])
            let scores = scorer.score(prediction: prediction, references: references)
            let expected = pair[stemming ? "rouge_stemmed" : "rouge"]!
            for type in RougeType.standard {
                let want = MetricFixture.numbers(expected[type.description])
                let got = scores[type]!
                for (a, b) in zip([got.precision, got.recall, got.fmeasure], want) {
                    deviation = max(deviation, abs(a - b))
                    #expect(
                        abs(a - b) <= tolerance,
                        "pair \(index) \(type): \(a) vs \(b) for \(prediction.debugDescription)")
                }
            }
        }
        print("ROUGE (stemming \(stemming)): \(MetricFixture.pairs.count) pairs, max deviation \(deviation)")
    }

    @Test("sentence BLEU per pair: every smoothing with effective order, exp without, and the statistics")
    func sentenceBLEU() {
        let variants: [(String, BLEU)] = [
            ("exp", .sentence(smoothing: .exp)), ("floor", .sentence(smoothing: .floor(0.1))),
            ("add-k", .sentence(smoothing: .addK(1))), ("none", .sentence(smoothing: .none)),
            ("exp_no_eff", BLEU(smoothing: .exp, effectiveOrder: false)),
        ]
        var deviation = 0.0
        for (index, pair) in MetricFixture.pairs.enumerated() {
            let prediction = pair["prediction"]!.stringValue!
            let references = MetricFixture.strings(pair["references"])
            let stats = variants[0].1.statistics(hypothesis: prediction, references: references)
            #expect(stats.asList == pair["bleu_stats"]!.arrayValue!.map { $0.intValue! }, "pair \(index) statistics")
            for (name, metric) in variants {
                let want = pair["sentence_bleu"]![name]!.numberValue!
                let got = metric.sentenceScore(hypothesis: prediction, references: references).score
                deviation = max(deviation, abs(got - want))
                #expect(abs(got - want) <= tolerance, "pair \(index) \(name): \(got) vs \(want)")
            }
        }
        let count = MetricFixture.pairs.count
        print("sentence BLEU: \(count) pairs × \(variants.count) settings, max deviation \(deviation)")
    }

    @Test("corpus BLEU for each option set, with its signature")
    func corpusBLEU() throws {
        let pairs = MetricFixture.pairs
        for run in MetricFixture.value["corpus"]!.arrayValue! {
            let name = run["name"]!.stringValue!
            let options = run["options"]!
            let method = options["smooth_method"]?.stringValue ?? "exp"
            let value = options["smooth_value"]?.numberValue
            let smoothing: BLEUSmoothing =
                switch method {
                case "floor": .floor(value ?? 0.1)
                case "add-k": .addK(value ?? 1)
                case "none": .none
                default: .exp
                }
            let metric = BLEU(
                smoothing: smoothing, effectiveOrder: options["effective_order"] != nil,
                lowercase: options["lowercase"] != nil)
            let used = Array(pairs.prefix(run["limit"]?.intValue ?? pairs.count))
            let hypotheses = used.map { $0["prediction"]!.stringValue! }
            let referenceLists = used.map { MetricFixture.strings($0["references"]) }
            let depth = run["references"]!.stringValue! == "all" ? referenceLists.map(\.count).max()! : 1
            let streams: [[String?]] = (0..<depth).map { k in referenceLists.map { k < $0.count ? $0[k] : nil } }
            let score = try metric.corpusScore(hypotheses: hypotheses, references: streams)
            let want = run["score"]!.numberValue!
            #expect(abs(score.score - want) <= tolerance, "\(name): \(score.score) vs \(want)")
            #expect(
                score.systemLength == run["sys_len"]!.intValue! && score.referenceLength == run["ref_len"]!.intValue!)
            #expect(abs(score.brevityPenalty - run["bp"]!.numberValue!) <= tolerance, "\(name) brevity penalty")
            for (a, b) in zip(score.precisions, MetricFixture.numbers(run["precisions"])) {
                #expect(abs(a - b) <= tolerance, "\(name) precision")
            }
            let signature = metric.signature(referenceCount: BLEU.referenceCount(streams))
            #expect(signature == run["signature"]!.stringValue!, "\(name) signature")
        }
    }
}
