import Annotation
import Common
import Foundation
import Logging
import Server
import Testing

/// Issue 6 end to end: `annotate` with our own `serve` as the teacher. The tiny random model answers
/// nonsense (JSON mode keeps it JSON-shaped but never a critique), so every item must end as a recorded
/// parse failure after its re-ask — never a crash, a hang or an HTTP error.
@Suite struct AnnotateAgainstServeTests {
    @Test("annotate against serve: nonsense answers become recorded parse failures")
    func nonsenseTeacher() async throws {
        let key = "sk-serve-test-key"
        let server = try await ServerHarness.start { $0.apiKey = key }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-serve-annotate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let items = (0..<3).map { i -> [String: Any] in
            ["id": "s\(i)", "post": "Post \(i): my cat Miso moved with me to Berlin and hates the tram.",
             "generated_summary": "Summary \(i): the cat moved to Berlin."]
        }
        let lines = try items.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let input = directory.appendingPathComponent("in.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)

        var config = AnnotateConfig(environment: [:])
        config.input = input
        config.output = directory.appendingPathComponent("out.jsonl").path
        config.endpoint.baseURL = server.baseURL
        config.endpoint.apiKey = key
        config.endpoint.model = ServerHarness.modelName
        config.maxNewTokens = 16
        config.endpoint.concurrency = 3
        config.endpoint.timeoutSeconds = 120
        config.endpoint.maxRetries = 1
        config.progress = .none
        var logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let summary = try await AnnotationRun(config: config, logger: logger).execute()
        let stats = server.scheduler.statistics
        await server.stop()

        #expect(summary.records == 0)
        #expect(summary.failures == ["parse": 3])
        #expect(summary.usage.promptTokens > 0 && summary.usage.completionTokens > 0, "usage came from serve")
        let failures = try String(contentsOfFile: config.failuresPath, encoding: .utf8).split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(failures.count == 3)
        #expect(failures.allSatisfy { ($0["raw"] as? String).map { !$0.isEmpty } ?? false })
        #expect(stats.sequences == 6, "each item asked once and re-asked once")
        #expect(stats.largestBatch > 1, "the annotator's concurrent requests were batched")
    }
}
