import Foundation
import Generation
import Testing

/// JSON mode with a quote rule: the strings in the arrays of the ruled top-level keys can only be non-empty
/// verbatim substrings of the source; everything else is plain JSON.
@Suite struct QuoteRuleTests {
    static let response = "Mia, a \"keen\" nurse, moved to Lisbon in May."
    static let rule = JSONPrefix.QuoteRule(keys: ["good_spans", "poor_spans"], source: response)

    func accepts(_ text: String) -> Bool {
        var prefix = JSONPrefix(quotes: Self.rule)
        return prefix.feed(text)
    }

    @Test("substrings pass, escaped or not; text the source lacks, empty quotes and other keys are told apart")
    func prefixes() {
        #expect(accepts(#"{"textual_feedback":"Anything at all, even Paris.","good_spans":["moved to Lisbon","Mia"],"poor_spans":["in May."]}"#))
        #expect(accepts(#"{"good_spans":["a \"keen\" nurse"],"poor_spans":[]}"#), "escaped quotes are the source's quotes")
        #expect(accepts(#"{"good_spans":["\u004dia"],"poor_spans":[]}"#), "a \\u escape is its character")
        #expect(accepts(#"{"good_spans":["moved to Li"#), "a prefix of a substring is a valid prefix")
        #expect(!accepts(#"{"good_spans":["moved to Paris"#))
        #expect(!accepts(#"{"poor_spans":["Lisbon","Porto"]}"#))
        #expect(!accepts(#"{"good_spans":[""]}"#), "an empty quote quotes nothing")
        #expect(!accepts(#"{"good_spans":["mia"]}"#), "case matters: the quote is verbatim")
        #expect(accepts(#"{"other":["Paris"],"nested":{"good_spans":["Paris"]},"good_spans":[],"poor_spans":[]}"#), "only the ruled top-level keys")
        var free = JSONPrefix()
        let freeFed = free.feed(#"{"good_spans":["moved to Paris"]}"#)
        #expect(freeFed && free.isComplete)
        var complete = JSONPrefix(quotes: Self.rule)
        let completeFed = complete.feed(#"{"good_spans":["Mia"],"poor_spans":[]}"#)
        #expect(completeFed && complete.isComplete)
        let nothing = JSONPrefix.QuoteRule(keys: ["good_spans"], source: "")
        var empty = JSONPrefix(quotes: nothing), closes = JSONPrefix(quotes: nothing)
        let opensQuote = empty.feed(#"{"good_spans":[""#), closesArray = closes.feed(#"{"good_spans":[]}"#)
        #expect(!opensQuote, "with nothing to quote the array can only close")
        #expect(closesArray)
        let two = JSONPrefix.QuoteRule(keys: ["good_spans"], source: Self.response, maxQuotes: 2)
        var full = JSONPrefix(quotes: two), closing = JSONPrefix(quotes: two), first = JSONPrefix(quotes: two)
        let third = full.feed(#"{"good_spans":["Mia","nurse","#), closed = closing.feed(#"{"good_spans":["Mia","nurse"],"x":[1,2,3]}"#)
        let onlyOne = first.feed(#"{"good_spans":["Mia"]"#) && first.feed(#","poor_spans":["a","b","c"]}"#)
        #expect(!third, "a third quote in a full array")
        #expect(closed && closing.isComplete && onlyOne, "other arrays are not counted")
        // A weak model's failures, each refused: a repeated key, closing before every label, a newline loop.
        let both = JSONPrefix.QuoteRule(keys: ["good_spans", "poor_spans"], source: Self.response)
        var repeated = JSONPrefix(quotes: both), early = JSONPrefix(quotes: both), loop = JSONPrefix(quotes: both)
        let repeatedFed = repeated.feed(#"{"good_spans":[],"poor_spans":["Mia"],"poor_spans""#)
        let earlyFed = early.feed(#"{"textual_feedback":"x","good_spans":["Mia"]}"#)
        let loopFed = loop.feed(#"{"good_spans":["Mia","# + String(repeating: "\n", count: 17))
        var spaced = JSONPrefix(quotes: both)
        let spacedFed = spaced.feed("{\n  \"good_spans\": [\n    \"Mia\"\n  ],\n  \"poor_spans\": []\n}")
        #expect(!repeatedFed && !earlyFed && !loopFed)
        #expect(spacedFed && spaced.isComplete, "pretty-printed JSON is still fine")
        var plain = JSONPrefix()
        let plainFed = plain.feed(#"{"a":1,"a":2}"# )
        #expect(plainFed, "without a rule, plain JSON mode is unchanged")
    }

    @Test("property: random walks over a real vocabulary's tokens under the rule only ever quote the source")
    func randomTokenWalksQuoteTheSource() throws {
        let texts = Generator(model: Fixtures.chat.model, tokenizer: Fixtures.chat.tokenizer).tokenTexts
        var seedState: UInt64 = 7
        func next() -> UInt64 {  // SplitMix64: the same walks on every run
            seedState &+= 0x9E37_79B9_7F4A_7C15
            var z = seedState
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var completed = 0, quotes = 0
        let walkRule = JSONPrefix.QuoteRule(keys: ["good_spans"], source: Self.response)
        for _ in 0..<40 {
            // One ruled key, so that a walk that closes its array may close the object.
            var state = JSONPrefix(quotes: walkRule)
            var output = #"{"good_spans":[""#
            let opened = state.feed(output)
            #expect(opened)
            for _ in 0..<80 where !state.isComplete {
                // The tokens the generator would leave drawable at this point.
                let allowed = texts.indices.filter { id in
                    guard let text = texts[id] else { return false }
                    var probe = state
                    return probe.feed(text)
                }
                try #require(!allowed.isEmpty, "a dead end after \(output)")
                // Prefer closing tokens now and then, so walks finish.
                let closing = allowed.filter { texts[$0]!.contains("]") || texts[$0]!.contains("}") }
                let pool = !closing.isEmpty && next() % 4 == 0 ? closing : allowed
                let id = pool[Int(next() % UInt64(pool.count))]
                let fed = state.feed(texts[id]!)
                #expect(fed)
                output += texts[id]!
            }
            guard state.isComplete else { continue }
            completed += 1
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            for key in walkRule.keys {
                for quote in object[key] as? [String] ?? [] {
                    #expect(!quote.isEmpty && Self.response.contains(quote), "\(quote) in \(output)")
                    quotes += 1
                }
            }
        }
        #expect(completed >= 10 && quotes >= 10, "\(completed) walks closed with \(quotes) quotes")
    }
}
