import Foundation
import Testing

@testable import Evaluation

@Suite("ROUGE and BLEU by hand")
struct MetricUnitTests {
    @Test("rouge-score's README example, stemmed")
    func readmeExample() {
        let scores = RougeScorer(stemming: true).score(
            prediction: "The quick brown dog jumps on the log.",
            reference: "The quick brown fox jumps over the lazy dog")
        // 6 of 8 prediction tokens and 6 of 9 reference tokens match ("jumps" and "jump" stem alike).
        #expect(scores[.n(1)] == RougeScore(precision: 6.0 / 8, recall: 6.0 / 9))
        #expect(scores[.n(2)] == RougeScore(precision: 2.0 / 7, recall: 2.0 / 8))
        #expect(scores[.l] == RougeScore(precision: 5.0 / 8, recall: 5.0 / 9))
    }

    @Test("the tokenizer keeps only [a-z0-9] runs and stems only tokens longer than three characters")
    func tokenizer() {
        #expect(
            RougeTokenizer(stemming: false).tokenize("Hello, WORLD-wide  web_2.0!") == [
                "hello", "world", "wide", "web", "2", "0",
            ])
        #expect(RougeTokenizer(stemming: true).tokenize("dogs cats running ties") == ["dog", "cat", "run", "tie"])
        #expect(RougeTokenizer(stemming: true).tokenize("was has") == ["was", "has"])
        #expect(
            RougeTokenizer(stemming: false).tokenize("İstanbul \u{212A}elvin café") == [
                "i", "stanbul", "kelvin", "caf",
            ])
    }

    @Test("Lsum splits at newlines only and counts each token once")
    func lsum() {
        let scorer = RougeScorer(types: [.l, .lsum])
        let swapped = scorer.score(prediction: "b c\na", reference: "a\nb c")
        #expect(swapped[.lsum] == RougeScore(precision: 1, recall: 1))
        #expect(swapped[.l] == RougeScore(precision: 2.0 / 3, recall: 2.0 / 3))
        // "\r\n" is not a line break of its own: the "\r" stays with its line and tokenizes away.
        #expect(scorer.score(prediction: "a\r\nb", reference: "a\nb")[.lsum] == RougeScore(precision: 1, recall: 1))
        #expect(scorer.score(prediction: "", reference: "a")[.lsum] == RougeScore(precision: 0, recall: 0))
    }

    @Test("several references: the best F1 per variant")
    func multipleReferences() {
        let scores = RougeScorer(types: [.n(1)]).score(prediction: "a b", references: ["c d", "a b c", "a"])
        #expect(scores[.n(1)] == RougeScore(precision: 1, recall: 2.0 / 3))
    }

    @Test("sentence BLEU by hand: the four modified precisions and no brevity penalty")
    func sentenceBLEU() {
        let score = BLEU.sentence().sentenceScore(
            hypothesis: "the cat sat on the mat", references: ["the cat sat on a mat"])
        let expected = pow(5.0 / 6 * 3.0 / 5 * 2.0 / 4 * 1.0 / 3, 0.25) * 100
        #expect(abs(score.score - expected) < 1e-9)
        #expect(score.brevityPenalty == 1)
        #expect(score.counts == [5, 3, 2, 1] && score.totals == [6, 5, 4, 3])
    }

    @Test("the brevity penalty, an empty hypothesis and exp smoothing of a missing order")
    func brevityAndSmoothing() {
        let short = BLEU().sentenceScore(hypothesis: "a b c", references: ["a b c d e f"])
        #expect(abs(short.brevityPenalty - exp(1 - 6.0 / 3)) < 1e-15)
        #expect(BLEU().sentenceScore(hypothesis: "", references: ["a b"]).score == 0)
        // Three tokens: no 4-grams, so without effective order the 4th order is missing and BLEU is 0 ...
        #expect(BLEU(effectiveOrder: false).sentenceScore(hypothesis: "a b c", references: ["a b c"]).score == 0)
        // ... and with it the score is over the three orders that exist.
        #expect(abs(BLEU.sentence().sentenceScore(hypothesis: "a b c", references: ["a b c"]).score - 100) < 1e-12)
        // exp smoothing: 3 of 4 unigrams, no bigram → 1 / (2 · 3) for order 2, 1 / (4 · 2) for order 3.
        let smoothed = BLEU.sentence().sentenceScore(hypothesis: "a x b y", references: ["a b c d"]).precisions
        #expect(smoothed[0] == 50 && smoothed[1] == 100.0 / 6 && smoothed[2] == 100.0 / 8)
    }

    @Test("signatures and reference counts as sacrebleu prints them")
    func signature() {
        #expect(BLEU().signature(referenceCount: "1") == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0")
        #expect(
            BLEU(smoothing: .addK(2), effectiveOrder: true, lowercase: true).signature(referenceCount: "var")
                == "nrefs:var|case:lc|eff:yes|tok:13a|smooth:add-k[2.00]|version:2.6.0")
        #expect(BLEU.referenceCount([["a", "b"], ["c", nil]]) == "var")
        #expect(BLEU.referenceCount([["a", nil], [nil, "d"]]) == "1")
    }

    @Test("mismatched reference streams and a hypothesis without a reference are errors")
    func errors() {
        #expect(throws: EvaluationError.self) { try BLEU().corpusScore(hypotheses: ["a", "b"], references: [["a"]]) }
        #expect(throws: EvaluationError.self) { try BLEU().corpusScore(hypotheses: ["a"], references: [[nil]]) }
        #expect(throws: EvaluationError.self) { try BLEU().corpusScore(hypotheses: ["a"], references: []) }
    }

    @Test("13a: entities, <skipped>, hyphenated line breaks, and digits keep their separators")
    func tokenizer13a() {
        #expect(Tokenizer13a.tokenize("&quot;Hi&quot; &amp;lt;") == "\" Hi \" <")
        #expect(Tokenizer13a.tokenize("a<skipped>b line-\nbreak") == "ab linebreak")
        #expect(Tokenizer13a.tokenize("3.14, 1,000 and 5-10.") == "3.14 , 1,000 and 5 - 10 .")
        let greek = Tokenizer13a.pythonLowercased(Array("ΟΔΥΣΣΕΥΣ".unicodeScalars))
        #expect(greek == Array("οδυσσευς".unicodeScalars))
    }
}
