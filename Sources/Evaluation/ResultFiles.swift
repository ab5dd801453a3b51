import Common
import Foundation

/// The append-only results file of `eval code`: one `SampleResult` per line, written as each run ends.
actor ResultAppender {
    private let appender: JSONLAppender

    init(path: String) throws {
        do {
            appender = try JSONLAppender(path: path)
        } catch {
            throw EvaluationError.io(path: path, detail: "\(error)")
        }
    }

    /// The results a file already holds (a torn last line, from a killed run, is cut off).
    static func existing(path: String) throws -> [SampleResult] {
        let scan: JSONLScan
        do {
            scan = try JSONLScan.read(path: path)
        } catch {
            throw EvaluationError.io(path: path, detail: "\(error)")
        }
        let decoder = JSONDecoder()
        return try scan.objects.map { line, object in
            do {
                let data = try JSONSerialization.data(withJSONObject: object)
                return try decoder.decode(SampleResult.self, from: data)
            } catch {
                throw EvaluationError.corruptResults(path: path, line: line, detail: "not a sample result")
            }
        }
    }

    func append(_ result: SampleResult) async throws {
        do {
            try await appender.append(result)
        } catch {
            throw EvaluationError.io(path: await appender.path, detail: "\(error)")
        }
    }

    func close() async { await appender.close() }
}

/// The judge's answer cache: one `{"id", "key", "content"}` line per answer, keyed by the request's SHA-256.
actor JudgeCache {
    private var answers: [String: String] = [:]
    private let appender: JSONLAppender?

    struct Line: Codable {
        var id: String
        var key: String
        var content: String
    }

    /// Opens (creating) the cache at `path`; nil keeps answers in memory only.
    init(path: String?) throws {
        guard let path else {
            appender = nil
            return
        }
        do {
            for (_, object) in try JSONLScan.read(path: path).objects {
                if let key = object["key"] as? String, let content = object["content"] as? String {
                    answers[key] = content
                }
            }
            appender = try JSONLAppender(path: path)
        } catch {
            throw EvaluationError.io(path: path, detail: "judge cache: \(error)")
        }
    }

    func answer(for key: String) -> String? { answers[key] }

    func store(key: String, id: String, content: String) async throws {
        answers[key] = content
        do {
            try await appender?.append(Line(id: id, key: key, content: content))
        } catch {
            throw EvaluationError.io(path: await appender?.path ?? "", detail: "judge cache: \(error)")
        }
    }

    func close() async { await appender?.close() }
}
