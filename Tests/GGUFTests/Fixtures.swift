import Foundation

/// Paths of the committed GGUF fixtures (Tests/Fixtures/gguf, made by scripts/make_gguf_fixtures.py).
enum GGUFFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf")

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// The types whose blocks have a fixture (quants/<name>.gguf), with gguf-py's dequantized values.
    static let quantNames = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"]
}

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String

    init(_ label: String = "gguf-tests") throws {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
