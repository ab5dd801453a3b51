import Foundation
import Testing

@testable import Annotation
@testable import Common
@testable import LLMClient
@testable import CodeSandbox
@testable import Tasks

/// The committed samples in Tests/Fixtures/feedback: the data sets' own shapes, a custom task and a
/// documented config, so the examples users copy are known to load.
@Suite("Fixtures")
struct FixtureTests {
    static func fixture(_ name: String, filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/feedback/\(name)").path
    }

    @Test func datasetSamplesLoadInTheirShippedShapes() throws {
        let slf5k = try DatasetReader.read(path: Self.fixture("slf5k-sample.json"), policy: .fatal)
        #expect(slf5k.items.map(\.id) == ["t3_1a2b3c", "t3_4d5e6f"])
        #expect(slf5k.items[1].response.hasPrefix("My cat Miso moved to Berlin in May"))
        #expect(slf5k.items[1].reference?.contains("March") == true)
        let kodcode = try DatasetReader.read(path: Self.fixture("kodcode-sample.jsonl"), policy: .fatal)
        #expect(kodcode.items.map(\.id) == ["kc-add", "kc-max"])
        #expect(kodcode.items.allSatisfy { $0.tests?.contains("from solution import") == true })
        let ultra = try DatasetReader.read(path: Self.fixture("ultrafeedback-sample.json"), policy: .fatal)
        #expect(ultra.items.map(\.id) == ["uf-paris", "uf-boil"])
        #expect(ultra.items[0].prompt == "What is the capital of France?")
    }

    @Test func kodcodeSampleSolutionsPassAndFailAsWritten() async throws {
        let items = try DatasetReader.read(path: Self.fixture("kodcode-sample.jsonl"), policy: .fatal).items
        let results = try await items.asyncMap { try await Sandbox().run(code: $0.response, tests: $0.tests ?? "") }
        #expect(results.map(\.passed) == [true, false])
        #expect(results[1].stdout.contains("FAILED test_all_negative"))
    }

    @Test func customTaskAndExampleConfigLoad() throws {
        let task = try CustomTask(path: Self.fixture("headline-task.yaml"))
        let slf5k = try DatasetReader.read(path: Self.fixture("slf5k-sample.json"), policy: .fatal)
        let prompt = try task.messages(for: slf5k.items[0], execution: nil)[1].content
        #expect(prompt.contains("## Headline\nRoommate eats my food"))
        let config = try AnnotateConfig.resolve(path: Self.fixture("annotate-example.yaml"), environment: [:])
        #expect(config.endpoint.concurrency == 16)
        #expect(config.sandbox.memoryMB == 1024)
        #expect(throws: Never.self) { try config.validate() }
    }
}

extension Array where Element: Sendable {
    /// Maps in order, one element at a time.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
