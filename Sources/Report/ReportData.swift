import Common
import Foundation
import JSON

/// Why a report cannot be made.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    /// The path holds no run: neither a metrics.jsonl of its own nor train-policy runs below it.
    case noRuns(path: String)
    /// A JSON file is not what it must be (`rm-eval.json`).
    case badFile(path: String, detail: String)

    public var description: String {
        switch self {
        case let .noRuns(path):
            return "\(path): no run here: expected a metrics.jsonl, or train-policy runs (a metrics.jsonl beside a "
                + "config.yaml with reward_mode) in the directories below"
        case let .badFile(path, detail):
            return "\(path): \(detail)"
        }
    }
}

/// The reward model's evaluation (`text2grad eval-rm`'s JSON summary): per label, exact and overlapping span
/// P/R/F1 and token P/R/F1, and the failure rates.
public struct RMEvaluation: Sendable, Equatable {
    /// One row of the table: a label and a measure (spans_exact, spans_overlap, tokens).
    public struct Row: Sendable, Equatable {
        public var label: String
        public var measure: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
    }

    public var path: String
    public var rows: [Row]
    public var items: Int?
    public var parseFailureRate: Double?
    public var unmatchedSpanRate: Double?

    /// The measures in table order, as eval-rm names them.
    public static let measures = ["spans_exact", "spans_overlap", "tokens"]

    /// Reads the summary at `path`; a label or measure without numeric precision, recall and f1 is an error.
    public static func load(path: String) throws -> RMEvaluation {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError.io(path: path, detail: "cannot read the file")
        }
        guard let object = try? JSONValue.parse([UInt8](data)), let labels = object["labels"]?.objectValue else {
            throw ReportError.badFile(path: path, detail: "expected eval-rm's JSON summary with a 'labels' object")
        }
        var rows: [Row] = []
        for (label, value) in labels.sorted(by: { $0.key < $1.key }) {
            guard let measures = value.objectValue else {
                throw ReportError.badFile(path: path, detail: "labels.\(label) must be an object")
            }
            for (measure, m) in measures.sorted(by: { order($0.key, $1.key) }) {
                guard m.objectValue != nil, let p = number(m["precision"]),
                      let r = number(m["recall"]), let f = number(m["f1"]) else {
                    throw ReportError.badFile(path: path,
                                              detail: "labels.\(label).\(measure) needs precision, recall and f1")
                }
                rows.append(Row(label: label, measure: measure, precision: p, recall: r, f1: f))
            }
        }
        return RMEvaluation(path: path, rows: rows, items: integer(object["items"]),
                            parseFailureRate: number(object["parse_failure_rate"]),
                            unmatchedSpanRate: number(object["unmatched_span_rate"]))
    }

    static func order(_ a: String, _ b: String) -> Bool {
        let i = measures.firstIndex(of: a) ?? measures.count, j = measures.firstIndex(of: b) ?? measures.count
        return i != j ? i < j : a < b
    }
}

/// What a report shows: one run, or every train-policy run below a directory grouped by reward mode, and the
/// reward model's evaluation when the tree holds one.
public struct ReportData: Sendable {
    public var root: String
    public var runs: [PolicyRun]
    public var groups: [RunGroup]
    public var rewardModelEvaluation: RMEvaluation?

    /// Names of the reward model's evaluation file the tree is searched for, in order.
    public static let evaluationNames = ["rm-eval.json", "eval-rm.json"]
    /// How deep below the root runs and the evaluation are looked for (the demo: root/stage/run).
    public static let searchDepth = 3

    /// Reads `path`: a run directory itself (a metrics.jsonl in it), or a tree of train-policy runs.
    public static func load(path: String) throws -> ReportData {
        let root = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError.io(path: root, detail: "not a directory")
        }
        let manager = FileManager.default
        let rootIsRun = manager.fileExists(atPath: root + "/metrics.jsonl")
        var runs = rootIsRun ? [try PolicyRun.load(directory: root, name: (root as NSString).lastPathComponent)] : []
        var evaluation: String?
        func lookForEvaluation(_ directory: String) {
            if evaluation == nil {
                evaluation = evaluationNames.map { directory + "/" + $0 }.first { manager.fileExists(atPath: $0) }
            }
        }
        // Breadth first, so the shallowest evaluation file wins; a run directory is not descended into.
        var frontier = [(path: root, name: "")]
        for depth in 0...searchDepth {
            var next: [(path: String, name: String)] = []
            for directory in frontier {
                lookForEvaluation(directory.path)
                guard depth < searchDepth else { continue }
                for child in subdirectories(directory.path) {
                    let path = directory.path + "/" + child
                    let name = directory.name.isEmpty ? child : directory.name + "/" + child
                    guard manager.fileExists(atPath: path + "/metrics.jsonl") else {
                        next.append((path, name))
                        continue
                    }
                    lookForEvaluation(path)
                    guard !rootIsRun, isPolicyRun(path) else { continue }
                    // A stage folder holding its run as `run/` (the demo's ppo-rm-token-seed0/run) is named by the stage.
                    let shown = name.hasSuffix("/run") ? String(name.dropLast(4)) : name
                    runs.append(try PolicyRun.load(directory: path, name: shown))
                }
            }
            frontier = next
        }
        guard !runs.isEmpty else { throw ReportError.noRuns(path: root) }
        return ReportData(root: root, runs: runs, groups: RunGroup.grouping(runs),
                          rewardModelEvaluation: try evaluation.map { try RMEvaluation.load(path: $0) })
    }

    /// A train-policy run: metrics.jsonl beside a config.yaml that sets reward_mode, or beside samples.jsonl.
    static func isPolicyRun(_ path: String) -> Bool {
        let manager = FileManager.default
        guard manager.fileExists(atPath: path + "/metrics.jsonl") else { return false }
        if manager.fileExists(atPath: path + "/samples.jsonl") { return true }
        guard let config = try? String(contentsOfFile: path + "/config.yaml", encoding: .utf8) else { return false }
        return config.split(separator: "\n").contains { $0.hasPrefix("reward_mode:") }
    }

    /// The visible subdirectories of `path` in name order, without checkpoints.
    static func subdirectories(_ path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && name != "checkpoints"
                && FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
    }
}
