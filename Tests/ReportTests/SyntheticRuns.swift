import Foundation
@testable import Report

/// Run directories written the way train-policy writes them (config.yaml, metrics.jsonl, samples.jsonl), in a
/// fresh temporary directory per test.
struct SyntheticTree {
    let root: String

    init(_ name: String) throws {
        root = NSTemporaryDirectory() + "report-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a run at `root/path` and returns its directory.
    @discardableResult
    func run(
        _ path: String, mode: String? = "token", seed: Int = 0, reward: String? = nil, metrics: [[String: Any]],
        samples: [[String: Any]] = [], extra: String = ""
    ) throws -> String {
        let directory = path.isEmpty ? root : root + "/" + path
        try FileManager.default.createDirectory(atPath: directory + "/checkpoints/step-1",
                                                withIntermediateDirectories: true)
        var config = "model: tiny\nprompts: prompts.jsonl\noutput: \(directory)\n"
        if let mode { config += "reward_mode: \(mode)\n" }
        if let reward { config += "reward: \(reward)\n" }
        config += "steps: \(metrics.count)\nbatch_size: 4\nlearning_rate: 0.0001\nlora_targets:\n- q_proj\n- v_proj\n"
        config += "seed: \(seed)\n" + extra
        try config.write(toFile: directory + "/config.yaml", atomically: true, encoding: .utf8)
        try Self.jsonl(metrics).write(toFile: directory + "/metrics.jsonl", atomically: true, encoding: .utf8)
        if !samples.isEmpty {
            try Self.jsonl(samples).write(toFile: directory + "/samples.jsonl", atomically: true, encoding: .utf8)
        }
        return directory
    }

    func write(_ text: String, to path: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    static func jsonl(_ objects: [[String: Any]]) throws -> String {
        try objects.map {
            String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    /// One step's record with the keys PPO logs; `f` gives each key's value at the step.
    static func record(step: Int, _ f: (String) -> Any?) -> [String: Any] {
        var object: [String: Any] = ["step": step]
        for key in ["objective/scores", "objective/rlhf_reward", "objective/task_metric", "objective/kl",
                    "loss/policy_avg", "loss/value_avg", "kl_coef", "policy/clipfrac_avg", "span/pos_frac",
                    "span/neg_frac", "seconds"] {
            if let value = f(key) { object[key] = value }
        }
        return object
    }

    /// A sample whose tokens spell `pieces` joined, each with the given reward.
    static func sample(
        step: Int, id: String, pieces: [(String, Double)],
        critique: String = "Names the city right; the month is wrong.",
        prompt: String = "Summarise: Mia moved to Lisbon in March."
    ) -> [String: Any] {
        let tokens: [[String: Any]] = pieces.enumerated().map { j, piece in
            ["id": j + 10, "text": piece.0, "score": piece.1, "span_score": piece.1, "kl": 0.01,
             "reward": piece.1, "advantage": piece.1 / 2, "value": 0.25]
        }
        let response = pieces.map(\.0).joined()
        return ["step": step, "id": id, "prompt": prompt, "response": response, "mode": "token", "sequence_score": 0.5,
                "critique": critique, "tokens": tokens, "task_metric": 0.75,
                "spans": [["text": "Lisbon", "label": "good_spans", "score": 1, "start": 8, "end": 14,
                           "match": "exact"]]]
    }
}

/// Just enough of the page's markup to check it: tags by name and class, their attributes.
enum Markup {
    /// Every opening tag `<name ...>` whose class attribute contains `className` (any class when nil).
    static func tags(_ html: String, _ name: String, class className: String? = nil) -> [String] {
        var found: [String] = [], rest = html[...]
        while let start = rest.range(of: "<" + name + " ") {
            guard let end = rest[start.upperBound...].firstIndex(of: ">") else { break }
            let tag = String(rest[start.lowerBound...end])
            let classes = attribute("class", tag)?.split(separator: " ").map(String.init) ?? []
            if className == nil || classes.contains(className!) {
                found.append(tag)
            }
            rest = rest[end...]
        }
        return found
    }

    /// The value of `name="..."` in a tag, unescaped of the entities the page writes.
    static func attribute(_ name: String, _ tag: String) -> String? {
        guard let start = tag.range(of: " " + name + "=\"") else { return nil }
        guard let end = tag[start.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(tag[start.upperBound..<end]).replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// The `<svg class="chart">…</svg>` of a metric key.
    static func chart(_ html: String, key: String) -> String? {
        let pattern = "<svg class=\"chart\"[^>]*data-key=\"\(NSRegularExpression.escapedPattern(for: key))\""
        guard let start = html.range(of: pattern, options: .regularExpression),
              let end = html[start.lowerBound...].range(of: "</svg>") else { return nil }
        return String(html[start.lowerBound..<end.upperBound])
    }

    /// A space-separated list of numbers.
    static func numbers(_ text: String?) -> [Double] {
        (text ?? "").split(separator: " ").compactMap { Double($0) }
    }

    /// The points of a polyline or polygon.
    static func points(_ tag: String) -> [String] {
        (attribute("points", tag) ?? "").split(separator: " ").map(String.init)
    }
}
