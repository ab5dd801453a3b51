import Foundation
import Testing

@testable import Tokenizers

/// Incremental decoding, special-token properties and components checked directly.
@Suite("Decoding and vocabulary")
struct DecodingTests {
    @Test(
        "incremental decoding concatenates to the full decode and never splits a character",
        arguments: Fixtures.families)
    func incremental(family: String) throws {
        let tokenizer = try Fixtures.tokenizer(family)
        for record in try Fixtures.goldens(family).records {
            let ids = record.without_special.ids
            var stream = IncrementalDecoder(tokenizer: tokenizer, skipSpecialTokens: false)
            var pieces: [String] = []
            for id in ids { pieces.append(stream.append(id)) }
            pieces.append(stream.finish())
            #expect(
                pieces.joined() == tokenizer.decode(ids, skipSpecialTokens: false),
                "\(family) \(record.text.prefix(30))")
            if !tokenizer.decode(ids).contains("\u{FFFD}") {
                #expect(!pieces.contains { $0.contains("\u{FFFD}") }, "\(family) \(record.text.prefix(30))")
            }
        }
    }

    @Test("an emoji split over byte-level tokens is held back until complete")
    func emojiHeldBack() throws {
        let tokenizer = try Fixtures.tokenizer("llama3")
        let ids = tokenizer.encode("👨‍👩‍👧", addSpecialTokens: false).ids
        #expect(ids.count > 1)
        var stream = IncrementalDecoder(tokenizer: tokenizer)
        let first = stream.append(ids[0])
        #expect(first.isEmpty)
        var rest = ""
        for id in ids.dropFirst() { rest += stream.append(id) }
        #expect(first + rest + stream.finish() == "👨‍👩‍👧")
    }

    @Test("special token ids and vocabulary lookups")
    func specialTokens() throws {
        let llama3 = try Fixtures.tokenizer("llama3")
        #expect(llama3.bosTokenId == llama3.id(for: "<|begin_of_text|>"))
        #expect(llama3.eosTokenId == llama3.id(for: "<|eot_id|>"))
        #expect(llama3.eosTokenIds.contains(llama3.id(for: "<|eot_id|>")!))
        #expect(llama3.eosTokenIds.contains(llama3.id(for: "<|end_of_text|>")!))
        #expect(llama3.vocabSize == 1012)
        #expect(llama3.token(for: llama3.bosTokenId!) == "<|begin_of_text|>")
        let llama2 = try Fixtures.tokenizer("llama2")
        #expect(llama2.bosTokenId == 1 && llama2.eosTokenId == 2 && llama2.id(for: "<unk>") == 0)
        #expect(llama2.id(for: "<0x0A>") == 3 + 0x0A)
    }

    @Test("vocabulary keeps canonically equivalent tokens apart")
    func canonicalEquivalence() throws {
        let mistral = try Fixtures.tokenizer("mistral")
        let composed = mistral.id(for: "\u{E9}")
        let decomposed = mistral.id(for: "e\u{301}")
        #expect(composed != nil && decomposed != nil && composed != decomposed)
    }

    @Test("decoder components behave like tokenizers'")
    func decoderComponents() {
        #expect(
            ByteFallbackDecoder().decodeChain(["<0xE2>", "<0x82>", "<0xAC>", "a", "<0xE2>"]) == ["€", "a", "\u{FFFD}"])
        #expect(StripDecoder(content: " ", start: 1, stop: 1).decodeChain(["  a  "]) == [" a "])
        #expect(MetaspaceDecoder(replacement: "▁", dropOnFirst: true).decodeChain(["▁a", "▁b"]) == ["a", " b"])
        #expect(ByteLevelDecoder().decodeChain(["Ġh", "é"]) == [" h\u{FFFD}"])
    }
}
