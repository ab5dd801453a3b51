import Foundation
import Testing

@testable import Tokenizers

/// Bad tokenizer files fail with a typed error naming the component and its place in the file.
@Suite("Tokenizer errors")
struct ErrorTests {
    /// The gpt2 fixture with `edit` applied to its JSON object.
    private func load(editing edit: (inout [String: Any]) -> Void) throws -> Tokenizer {
        let url = Fixtures.root.appendingPathComponent("gpt2/tokenizer.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        return try Tokenizer(tokenizerJSON: try JSONSerialization.data(withJSONObject: object))
    }

    @Test("malformed JSON")
    func malformedJSON() {
        #expect(
            throws: TokenizerError.malformed(
                file: "tokenizer.json", path: "",
                reason: "invalid JSON at byte 13: expected ',' or '}'")
        ) {
            try Tokenizer(tokenizerJSON: Data(#"{"model": {} "x": 1}"#.utf8))
        }
    }

    @Test("unsupported pre-tokenizer inside a Sequence names its path")
    func unsupportedPreTokenizer() {
        #expect(
            throws: TokenizerError.unsupported(
                file: "tokenizer.json", path: "pre_tokenizer.pretokenizers[1].type",
                value: "\"Foo\"")
        ) {
            try load {
                $0["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Digits"], ["type": "Foo"]]]
            }
        }
    }

    @Test("unsupported normalizer, model, decoder and post-processor")
    func unsupportedComponents() {
        #expect(
            throws: TokenizerError.unsupported(
                file: "tokenizer.json", path: "normalizer.type", value: "\"BertNormalizer\"")
        ) {
            try load { $0["normalizer"] = ["type": "BertNormalizer"] }
        }
        #expect(throws: TokenizerError.unsupported(file: "tokenizer.json", path: "model.type", value: "\"Unigram\"")) {
            try load { $0["model"] = ["type": "Unigram", "vocab": []] }
        }
        #expect(
            throws: TokenizerError.unsupported(
                file: "tokenizer.json", path: "decoder.decoders[0].type", value: "\"CTC\"")
        ) {
            try load { $0["decoder"] = ["type": "Sequence", "decoders": [["type": "CTC"]]] }
        }
        #expect(
            throws: TokenizerError.unsupported(
                file: "tokenizer.json", path: "post_processor.type", value: "\"BertProcessing\"")
        ) {
            try load { $0["post_processor"] = ["type": "BertProcessing"] }
        }
    }

    @Test("an unknown Split regex is rejected, not silently mis-split")
    func unknownRegex() {
        #expect(
            throws: TokenizerError.unsupported(
                file: "tokenizer.json", path: "pre_tokenizer.pattern.Regex", value: "\"\\d+\"")
        ) {
            try load {
                $0["pre_tokenizer"] = [
                    "type": "Split", "pattern": ["Regex": "\\d+"], "behavior": "Isolated", "invert": false,
                ]
            }
        }
    }

    @Test("merges that use unknown tokens and wrongly typed fields")
    func badModel() {
        #expect(
            throws: TokenizerError.malformed(
                file: "tokenizer.json", path: "model.merges[0]",
                reason: "merge uses a token that is not in the vocabulary")
        ) {
            try load { object in
                var model = object["model"] as! [String: Any]
                model["merges"] = ["zz qq"]
                object["model"] = model
            }
        }
        #expect(
            throws: TokenizerError.malformed(
                file: "tokenizer.json", path: "model.byte_fallback", reason: "expected a boolean")
        ) {
            try load { object in
                var model = object["model"] as! [String: Any]
                model["byte_fallback"] = "yes"
                object["model"] = model
            }
        }
    }

    @Test("a missing directory is an unreadable file")
    func missingFile() {
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(directory: URL(fileURLWithPath: "/nonexistent/model"))
        }
    }

    @Test("error descriptions point at the file and path")
    func descriptions() {
        let error = TokenizerError.unsupported(
            file: "tokenizer.json", path: "pre_tokenizer.pretokenizers[1].type", value: "\"Foo\"")
        #expect(error.description == "tokenizer.json: pre_tokenizer.pretokenizers[1].type = \"Foo\" is not supported")
    }
}
