import Common
import Foundation
import JSON
import Testing

/// Records and config files keep the bytes `JSONSerialization` gave them: its order of sorted keys and its layout.
@Suite struct SortedKeysTests {
    static let keys = [
        "b", "A", "a10", "a2", "_x", "Z", "step", "rm/f1", "a_b", "aB", "ab", "é", "e\u{301}x", "pass@1", "pass@10",
        "pass@5", "_from_model_config", "bos_token_id", "<|im_end|>", "</s>", "rougeLsum", "rouge2", "x-y", "x.y", "9",
    ]

    @Test func keysAreInJSONSerializationsOrder() throws {
        var dictionary: [String: Any] = [:]
        for key in Self.keys { dictionary[key] = 0 }
        let expected = try JSONSerialization.data(
            withJSONObject: dictionary, options: [.sortedKeys, .withoutEscapingSlashes])
        let value = JSONValue.object(Self.keys.map { ($0, 0) })
        #expect(value.sortedLine == String(decoding: expected, as: UTF8.self))
    }

    @Test func documentsAreLaidOutAsJSONSerializationLaysThemOut() throws {
        let object: [String: Any] = ["r": 3, "alpha_pattern": [String: Any](), "modules": ["q", "v"], "x": NSNull(),
                                     "nested": ["b": 0.5, "a": [Int]()]]
        let expected = try JSONSerialization.data(
            withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        let value: JSONValue = ["r": 3, "alpha_pattern": [:], "modules": ["q", "v"], "x": .null,
                                "nested": ["b": 0.5, "a": []]]
        #expect(value.sortedDocument == String(decoding: expected, as: UTF8.self))
    }
}
