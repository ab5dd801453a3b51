import Foundation
import Testing
@testable import SafeTensors

/// What the writer stores, the reader gives back (the training checkpoints rely on this).
@Suite struct WriterRoundTripTests {
    @Test func f32RoundTripsExactly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a: [Float] = [1, -2.5, 3e-8, .pi, 0, 7]
        let b: [Float] = [42]
        try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try SafeTensorsWriter.write(
                    [.init(name: "a", shape: [2, 3], values: pa), .init(name: "b.bias", shape: [1], values: pb)],
                    metadata: ["format": "pt"], to: path)
            }
        }
        let file = try SafeTensorsFile(path: path)
        #expect(try file.floats("a") == a)
        #expect(try file.floats("b.bias") == b)
        #expect(file.info("a")?.shape == [2, 3])
        #expect(file.metadata["format"] == "pt")
    }
}
