import Foundation
import Models
import Tokenizers

/// The committed chat model fixture (scripts/make_generation_fixtures.py), found from this file's location.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static let chatModelDirectory = root.appendingPathComponent("models/chat-smollm").path

    static func model(_ name: String) -> String { root.appendingPathComponent("models/\(name)").path }

    /// The chat model and its tokenizer (loaded once per process).
    static let chat: (model: LlamaModel, tokenizer: Tokenizer) = {
        let model = try! LlamaModel(directory: chatModelDirectory)
        let tokenizer = try! Tokenizer.load(directory: URL(fileURLWithPath: chatModelDirectory))
        return (model, tokenizer)
    }()

    struct GreedyCase: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let generated_ids: [Int]
    }

    struct Greedy: Decodable {
        let max_new_tokens: Int
        let cases: [GreedyCase]
    }

    /// transformers' greedy outputs for the chat model.
    static func greedy() throws -> Greedy {
        let data = try Data(contentsOf: URL(fileURLWithPath: chatModelDirectory + "/greedy.json"))
        return try JSONDecoder().decode(Greedy.self, from: data)
    }
}
