import Common
import Foundation
import Testing
import Tokenizers

/// The byte-level BPE trainer: deterministic, loadable, lossless, and usable as a chat tokenizer.
@Suite struct BPETrainerTests {
    static let corpus: [String] = (0..<40).flatMap { i in
        ["Mia moved to Lisbon in March with her cat Pico.", "Tom fixed the bike on Sunday and rode to the lake \(i).",
         "The bakery on Elm Street opens at 7 and sells rye bread."]
    }

    static func trained(_ size: Int = 320, corpus: [String] = corpus) throws -> (TrainedBPE, Tokenizer) {
        var trainer = BPETrainer()
        trainer.vocabularySize = size
        let bpe = try trainer.train(corpus)
        let tokenizer = try Tokenizer(
            tokenizerJSON: Data(bpe.tokenizerJSON().utf8), configJSON: Data(try bpe.configJSON().utf8))
        return (bpe, tokenizer)
    }

    @Test("training is deterministic, reaches the vocabulary size, and learns frequent words whole")
    func deterministic() throws {
        let (first, tokenizer) = try Self.trained()
        let (second, _) = try Self.trained()
        #expect(first == second && first.tokenizerJSON() == second.tokenizerJSON())
        #expect(first.vocabularySize == 320 && tokenizer.vocabSize == 320)
        #expect(tokenizer.encode(" Lisbon", addSpecialTokens: false).ids.count == 1)
        #expect(tokenizer.encode("7", addSpecialTokens: false).ids.count == 1)
        #expect(tokenizer.encode("77", addSpecialTokens: false).ids.count == 2, "digits are split one by one")
        let (small, _) = try Self.trained(300)
        #expect(small.vocabularySize == 300)
        // A corpus too small to merge further stops early instead of inventing tokens.
        let (tiny, _) = try Self.trained(1000, corpus: ["ab ab"])
        #expect(tiny.vocabularySize < 270)
    }

    @Test("decode(encode(x)) == x for seen and unseen text, and offsets tile ASCII text exactly")
    func roundTripAndOffsets() throws {
        let (_, tokenizer) = try Self.trained()
        let unseen = ["naïve café, 日本語 🙂 tabs\tand\nnewlines", "  leading spaces", "<|im_end|> inside"]
        let texts = Self.corpus + unseen
        for text in texts {
            let encoding = tokenizer.encode(text, addSpecialTokens: false)
            #expect(tokenizer.decode(encoding.ids) == text)
            let scalars = Array(text.unicodeScalars)
            #expect(encoding.offsets.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= scalars.count })
            if text.unicodeScalars.allSatisfy(\.isASCII) {
                let pieces = encoding.offsets.map { String(String.UnicodeScalarView(scalars[$0])) }
                #expect(pieces.joined() == text, "\(pieces)")
            }
        }
    }

    @Test("special tokens and the ChatML template: one id each, rendered as transformers renders ChatML")
    func chatTemplate() throws {
        let (_, tokenizer) = try Self.trained()
        #expect(tokenizer.id(for: "<|endoftext|>") == 0 && tokenizer.id(for: "<|im_start|>") == 1)
        #expect(tokenizer.eosTokenId == 2 && tokenizer.padTokenId == 0 && tokenizer.eosTokenIds.contains(2))
        let text = try tokenizer.applyChatTemplate(
            messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello")],
            addGenerationPrompt: false)
        #expect(text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n")
        let ids = tokenizer.encode(text, addSpecialTokens: false).ids
        #expect(ids.filter { $0 == 1 }.count == 2 && ids.filter { $0 == 2 }.count == 2)
    }

    @Test("bad settings are errors: a vocabulary smaller than the bytes, duplicate special tokens")
    func badSettings() {
        var trainer = BPETrainer()
        trainer.vocabularySize = 100
        #expect(throws: TokenizerError.self) { try trainer.train(["x"]) }
        trainer = BPETrainer()
        trainer.specialTokens = ["<a>", "<a>"]
        #expect(throws: TokenizerError.self) { try trainer.train(["x"]) }
        trainer = BPETrainer()
        trainer.specialTokens = ["<|endoftext|>"]
        #expect(throws: TokenizerError.self) { try trainer.train(["x"]).configJSON() }
    }
}
