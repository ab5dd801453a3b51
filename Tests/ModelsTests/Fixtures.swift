import Foundation
import SafeTensors

/// Paths of the committed fixtures (Tests/Fixtures), found from this file's location.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func model(_ name: String) -> String { root.appendingPathComponent("models/\(name)").path }

    static let modelNames = [
        "llama-gqa", "qwen2-tied", "llama3-sharded", "mistral-window", "qwen3-norms", "gemma3-local", "gemma3-softcap",
    ]

    /// The token sequences a model fixture's logits were computed for.
    static func sequences(_ name: String) throws -> [[Int]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: model(name) + "/inputs.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (object["sequences"] as! [[NSNumber]]).map { $0.map(\.intValue) }
    }

    /// transformers' perplexity of each sequence.
    static func perplexities(_ name: String) throws -> [Double] {
        let data = try Data(contentsOf: URL(fileURLWithPath: model(name) + "/inputs.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (object["perplexity"] as! [NSNumber]).map(\.doubleValue)
    }

    static func expected(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: model(name) + "/expected.safetensors")
    }
}

/// The largest |a[i] − b[i]|.
func maxAbsDifference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var worst: Float = 0
    for i in 0..<count { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}
