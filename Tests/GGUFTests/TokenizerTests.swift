import Foundation
import GGUF
import GGUFConversion
import Testing
import Tokenizers

/// tokenizer.json rebuilt from GGUF metadata against llama.cpp's own tokenizer (llama-cpp-python,
/// `tokenize(special=True)`, no BOS) on messy texts, for each supported `tokenizer.ggml.pre`. Tolerance: exact ids.
@Suite struct TokenizerTests {
    static func golden() throws -> (texts: [String], ids: [String: [[Int]]]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: GGUFFixtures.path("tokens.json")))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try #require(object["texts"] as? [String]), try #require(object["ids"] as? [String: [[Int]]]))
    }

    /// The tokenizer of a GGUF file, through the converter's tokenizer files.
    static func tokenizer(_ file: String) throws -> Tokenizer {
        let files = try GGUFImport.tokenizerFiles(gguf: GGUFFixtures.path(file))
        return try Tokenizer(tokenizerJSON: files.tokenizer, configJSON: files.config)
    }

    @Test(arguments: [("smollm", "tiny-f32.gguf"), ("gpt-2", "vocab-gpt-2.gguf"), ("llama-bpe", "vocab-llama-bpe.gguf"),
                      ("qwen2", "vocab-qwen2.gguf"), ("spm", "vocab-spm.gguf")])
    func idsMatchLlamaCpp(_ pre: String, _ file: String) throws {
        let (texts, ids) = try Self.golden()
        let expected = try #require(ids[pre])
        let tokenizer = try Self.tokenizer(file)
        var agree = 0
        for (text, reference) in zip(texts, expected) {
            let ours = tokenizer.encodeIds(text, addSpecialTokens: false)
            if ours == reference { agree += 1 }
            #expect(ours == reference, "\(pre): \(text.debugDescription)")
        }
        print("\(pre): \(agree)/\(texts.count) texts tokenized as llama.cpp does")
    }

    /// SentencePiece: BOS added as llama.cpp adds it, and decoding gives the text back.
    @Test func sentencePieceAddsBosAndDecodes() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: GGUFFixtures.path("tokens.json")))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let (texts, _) = try Self.golden()
        let tokenizer = try Self.tokenizer("vocab-spm.gguf")
        #expect(tokenizer.encodeIds(texts[0], addSpecialTokens: true) == object["spm_with_bos"] as? [Int])
        for text in texts where !text.isEmpty && !text.hasPrefix(" ") {
            let ids = tokenizer.encodeIds(text, addSpecialTokens: false)
            #expect(tokenizer.decode(ids) == text, "\(text.debugDescription)")
        }
    }

    @Test func unknownPreTokenizerIsNamed() throws {
        #expect(throws: GGUFError.self) { try Self.tokenizer("vocab-default.gguf") }
        do {
            _ = try Self.tokenizer("vocab-default.gguf")
        } catch {
            #expect("\(error)".contains("tokenizer.ggml.pre") && "\(error)".contains("'default'"))
        }
    }
}
