import Foundation
import Testing

@testable import Tokenizers

/// Ids, token strings, offsets and decodes must equal what Hugging Face `tokenizers` produced.
@Suite("Golden encodings from tokenizers")
struct GoldenEncodingTests {
    @Test("encode matches tokenizers (ids, tokens, offsets)", arguments: Fixtures.families)
    func encodeMatches(family: String) throws {
        let tokenizer = try Fixtures.tokenizer(family)
        let goldens = try Fixtures.goldens(family)
        #expect(goldens.records.count > 20)
        for record in goldens.records {
            for (special, expected) in [(true, record.with_special), (false, record.without_special)] {
                let encoding = tokenizer.encode(record.text, addSpecialTokens: special)
                let context = "\(family) special=\(special) text=\(record.text.debugDescription.prefix(60))"
                #expect(encoding.ids == expected.ids, "\(context)")
                #expect(encoding.tokens == expected.tokens, "\(context)")
                #expect(encoding.offsets.map { [$0.lowerBound, $0.upperBound] } == expected.offsets, "\(context)")
                if encoding.ids != expected.ids { break }
            }
        }
    }

    @Test("decode matches tokenizers", arguments: Fixtures.families)
    func decodeMatches(family: String) throws {
        let tokenizer = try Fixtures.tokenizer(family)
        for record in try Fixtures.goldens(family).records {
            let ids = record.with_special.ids
            #expect(
                tokenizer.decode(ids, skipSpecialTokens: false) == record.decode, "\(family) \(record.text.prefix(40))")
            #expect(
                tokenizer.decode(ids, skipSpecialTokens: true) == record.decode_skip_special,
                "\(family) skip \(record.text.prefix(40))")
        }
    }

    @Test("offsets index Unicode scalars of the input", arguments: ["llama3", "llama2"])
    func offsetsAreScalarIndices(family: String) throws {
        let tokenizer = try Fixtures.tokenizer(family)
        let text = "né 👍🏽 ok"
        let encoding = tokenizer.encode(text, addSpecialTokens: false)
        let scalars = Array(text.unicodeScalars)
        for range in encoding.offsets {
            #expect(range.lowerBound >= 0 && range.upperBound <= scalars.count)
        }
        // Every scalar is covered by some token, and coverage is monotone.
        let covered = Set(encoding.offsets.flatMap { Array($0) })
        #expect(covered == Set(0..<scalars.count))
        #expect(encoding.offsets.map(\.lowerBound) == encoding.offsets.map(\.lowerBound).sorted())
    }
}
