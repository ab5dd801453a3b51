import Foundation

@testable import Tokenizers

/// Locates and reads the committed fixtures made by scripts/make_tokenizer_fixtures.py.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizers")

    static let families = [
        "gpt2", "roberta-like", "llama3", "qwen2", "smollm", "llama2", "mistral", "sp-unk",
        // Vocabularies that lack some bytes or characters, with no unknown token: those are dropped.
        "smollm-missing-bytes", "sp-drop",
    ]
    static let chatFamilies = ["llama3", "qwen2", "smollm", "llama2", "mistral"]

    static func tokenizer(_ family: String) throws -> Tokenizer {
        try Tokenizer.load(directory: root.appendingPathComponent(family))
    }

    struct EncodingRecord: Decodable {
        let ids: [Int]
        let tokens: [String]
        let offsets: [[Int]]
    }

    struct Record: Decodable {
        let text: String
        let with_special: EncodingRecord
        let without_special: EncodingRecord
        let decode: String
        let decode_skip_special: String
    }

    struct Goldens: Decodable {
        let family: String
        let records: [Record]
    }

    struct Message: Decodable {
        let role: String
        let content: String
    }

    struct Chat: Decodable {
        let messages: [Message]
        let add_generation_prompt: Bool
        let output: String?
        let error: String?
    }

    struct ChatGoldens: Decodable {
        let family: String
        let template: String
        let date_string: String
        let chats: [Chat]
    }

    static func goldens(_ family: String) throws -> Goldens {
        let data = try Data(contentsOf: root.appendingPathComponent(family).appendingPathComponent("goldens.json"))
        return try JSONDecoder().decode(Goldens.self, from: data)
    }

    static func chatGoldens(_ family: String) throws -> ChatGoldens {
        let data = try Data(contentsOf: root.appendingPathComponent(family).appendingPathComponent("chat_goldens.json"))
        return try JSONDecoder().decode(ChatGoldens.self, from: data)
    }
}
