import ArgumentParser
import Foundation
import Testing
@testable import Common
@testable import text2grad

/// Every subcommand's flags against its typed configuration: a configured command's every flag sets a setting of
/// its `RunConfiguration` (set alone, it changes exactly that key of the saved YAML), and every setting has a flag
/// or is one of the command's declared YAML-only keys; a command without a configuration says why. So a flag that
/// reaches no field, a field no flag or file can set, or a new command that skips the configuration, fails here.
@Suite struct CommandSettingsTests {
    /// Subcommands that are not configured, and why: each runs in about a second over flags alone, or (bench) is a
    /// measurement whose flags stay as they are while the benchmarks change.
    static let flagsOnly: [String: String] = [
        "score": "one pass over a file", "tokenize": "one pass over a file", "merge-lora": "a file conversion",
        "report": "renders a page from saved runs", "facts": "writes the built-in task's files",
        "train-tokenizer": "one pass over a corpus", "init-model": "writes a random model",
        "convert gguf": "a file conversion", "convert hf": "a file conversion",
        "bench forward": "a benchmark", "bench train": "a benchmark", "bench tokenize": "a benchmark",
        "bench generate": "a benchmark", "bench memory": "a benchmark", "bench allreduce": "a benchmark",
        "bench ppo": "a benchmark", "bench peak": "a benchmark",
    ]

    /// Flags that are not settings: the file itself, actions, test hooks, secrets and another mode's flags.
    static let notSettings: [String: Set<String>] = [
        "*": ["config", "step-delay"],
        "sft": ["resume"], "train-rm": ["resume"], "train-policy": ["resume"],
        "annotate": ["dry-run", "api-key"], "eval judge": ["api-key"], "serve": ["api-key"],
        "demo": ["make-base", "base-steps", "base-posts"],
    ]

    /// The key a flag sets where it is not the flag's own name in snake case (old spellings, kept hidden, and
    /// flags into a nested group).
    static let keyOf: [String: [String: String]] = [
        "*": ["rslora": "lora_rslora", "critique-tokens": "critique_max_new_tokens",
              "sandbox-timeout": "sandbox", "sandbox-cpu-seconds": "sandbox", "sandbox-memory-mb": "sandbox",
              "sandbox-disk-mb": "sandbox", "python": "sandbox"],
        "train-rm": ["annotations": "data", "eval-annotations": "eval_data"],
        "train-policy": ["rollout-weights": "weights"],
        "generate": ["max-tokens": "max_new_tokens", "min-tokens": "min_new_tokens", "stop-id": "stop_ids"],
        "annotate": ["max-tokens": "max_new_tokens"],
        "eval judge": ["max-tokens": "max_new_tokens", "judge-url": "base_url", "judge-model": "model"],
        "serve": ["default-max-tokens": "max_new_tokens"],
        "critique": ["model": "reward_model", "adapter": "reward_adapter", "endpoint": "reward_url",
                     "endpoint-model": "reward_model_name", "max-new-tokens": "critique_max_new_tokens",
                     "batch-size": "critique_batch_size"],
        "eval-rm": ["model": "reward_model", "adapter": "reward_adapter", "endpoint": "reward_url",
                    "endpoint-model": "reward_model_name", "max-new-tokens": "critique_max_new_tokens",
                    "batch-size": "critique_batch_size"],
        "eval code": ["timeout": "sandbox", "cpu-seconds": "sandbox", "memory-mb": "sandbox", "disk-mb": "sandbox"],
        "demo": ["quick": "size", "out": "output"],
    ]

    /// Settings a command reads from its file only (there is no flag for them); a new setting must get a flag or
    /// be listed here.
    static let yamlOnly: [String: Set<String>] = [
        "train-policy": [
            "value_learning_rate_scale", "kl_horizon", "cliprange", "cliprange_value", "vf_coef", "entropy_coef",
            "ratio_threshold", "log_ratio_clamp", "whiten_advantages", "neutral_score", "score_non_alphanumeric",
            "unparsed_score", "missing_eos_penalty", "samples_per_step",
        ],
        "annotate": ["backoff_base", "backoff_cap", "sandbox_concurrency", "progress_interval"],
        "eval judge": ["backoff_base", "backoff_cap"],
    ]

    /// Keys of a configuration two commands share that one of them refuses (sft's `target` is train-rm's).
    static let refused: [String: Set<String>] = ["sft": ["target"]]

    /// The least each configured command needs to resolve.
    static let required: [String: [String]] = [
        "sft": ["--model", "m", "--data", "d.jsonl"], "train-rm": ["--model", "m", "--annotations", "a.jsonl"],
        "train-policy": ["--model", "m", "--prompts", "p.jsonl"], "annotate": ["-i", "in.jsonl", "-o", "out.jsonl"],
        "critique": ["-i", "in.jsonl", "-o", "out.jsonl", "--reward-model", "rm"],
        "eval-rm": ["--annotations", "a.jsonl", "--predictions", "p.jsonl"],
        "generate": ["--model", "m", "--prompt", "Hello"], "serve": ["--model", "m"],
        "eval summarization": ["--predictions", "p.jsonl"], "eval code": ["--tasks", "t.jsonl", "--samples", "s.jsonl"],
        "eval judge": ["--predictions", "p.jsonl", "--baseline", "b.jsonl"], "eval facts": ["--predictions", "p.jsonl"],
        "demo": [],
    ]

    /// Required flags a flag cannot be combined with (dropped while it is tried).
    static let excludes: [String: [String: String]] = [
        "generate": ["input": "--prompt"], "serve": ["teacher": "--model"], "eval code": ["reference": "--samples"],
        "critique": ["model": "--reward-model"],
    ]

    /// Values for flags whose setting takes only some strings.
    static let values: [String: String] = [
        "base-url": "http://127.0.0.1:1/v1", "judge-url": "http://127.0.0.1:1/v1", "task": "qa",
        "lora-targets": "q_proj,k_proj", "stop": "END", "stop-id": "5", "k": "5", "top-p": "0.5",
        "target": "0.5", "sandbox-memory-mb": "512", "memory-mb": "512",
    ]

    @Test func everySubcommandIsConfiguredOrSaysWhyNot() throws {
        var seen = Set<String>()
        for (path, command) in Self.leaves(Text2Grad.self) {
            let name = path.joined(separator: " ")
            seen.insert(name)
            let configured = command is any ConfiguredCommand.Type
            let listed = Self.flagsOnly[name] != nil
            #expect(configured != listed, "\(name): configured \(configured), listed as flags-only \(listed)")
            #expect(!configured || Self.required[name] != nil, "\(name): give its required flags in `required`")
        }
        for name in Self.flagsOnly.keys { #expect(seen.contains(name), "\(name) is not a subcommand") }
    }

    @Test(arguments: Array(CommandSettingsTests.required.keys).sorted())
    func everyFlagSetsOneSettingAndEverySettingHasAFlagOrAKey(_ name: String) throws {
        let path = name.split(separator: " ").map(String.init)
        let arguments = try Self.arguments(of: path)
        let baseline = try Self.settings(path, Self.required[name]!)
        let fileKeys = Set(try Self.fileKeys(path, Self.required[name]!))
        #expect(Set(baseline.keys).isSubset(of: fileKeys), "\(name) saves keys its file cannot hold")
        var flagged = Set<String>()
        let names = Set(arguments.map(\.name))
        for argument in arguments {
            let flag = argument.name
            if Self.notSettings["*"]!.contains(flag) || Self.notSettings[name, default: []].contains(flag) { continue }
            // `--no-x` is the other spelling of `--x`, tried with it.
            if flag.hasPrefix("no-"), names.contains(String(flag.dropFirst(3))) { continue }
            let key = Self.keyOf[name]?[flag] ?? Self.keyOf["*"]![flag] ?? flag.replacingOccurrences(of: "-", with: "_")
            guard fileKeys.contains(key) else {
                Issue.record("\(name) --\(flag): no setting '\(key)'")
                continue
            }
            flagged.insert(key)
            var required = Self.required[name]!
            if let excluded = Self.excludes[name]?[flag], let at = required.firstIndex(of: excluded) {
                required.removeSubrange(at...at + 1)
            }
            var changed: Set<String>?
            let before = required == Self.required[name]! ? baseline : (try? Self.settings(path, required)) ?? baseline
            var tries = Self.candidates(argument, baseline: baseline[key])
            if argument.isFlag, names.contains("no-" + flag) { tries.append(["--no-" + flag]) }
            for given in tries {
                guard let after = try? Self.settings(path, required + given) else { continue }
                let differing = Set(after.keys).union(before.keys).filter { after[$0] != before[$0] }
                if differing.contains(key) {
                    changed = differing
                    break
                }
            }
            guard let changed else {
                Issue.record("\(name) --\(flag): no value changed '\(key)'")
                continue
            }
            // `--endpoint` also sets the source; a dropped required flag's setting differs from the baseline.
            var alsoSets: Set<String> = flag == "endpoint" ? ["reward"] : []
            if let excluded = Self.excludes[name]?[flag] {
                alsoSets.insert(Self.keyOf[name]?[String(excluded.dropFirst(2))] ?? String(excluded.dropFirst(2)))
            }
            #expect(changed.subtracting(alsoSets) == [key], "\(name) --\(flag) changed \(changed.sorted())")
        }
        let missing = fileKeys.subtracting(flagged).subtracting(Self.yamlOnly[name, default: []])
            .subtracting(Self.refused[name, default: []])
        #expect(missing.isEmpty, "\(name): settings with neither a flag nor a yamlOnly entry: \(missing.sorted())")
        let stale = Self.yamlOnly[name, default: []].intersection(flagged)
        #expect(stale.isEmpty, "\(name): yamlOnly keys that have a flag: \(stale.sorted())")
    }

    @Test(arguments: Array(CommandSettingsTests.required.keys).sorted())
    func theSavedConfigurationReadsBackAndUnknownKeysAreRefused(_ name: String) throws {
        let path = name.split(separator: " ").map(String.init)
        let directory = NSTemporaryDirectory() + "cli-settings-\(getpid())-\(path.joined(separator: "-"))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let saved = try Self.yaml(path, Self.required[name]!)
        try saved.write(toFile: directory + "/config.yaml", atomically: true, encoding: .utf8)
        #expect(try Self.yaml(path, ["--config", directory + "/config.yaml"]) == saved, "\(name) reads its own file")
        try (saved + "lerning_rate: 1\n").write(toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try Self.yaml(path, ["--config", directory + "/bad.yaml"])
            Issue.record("\(name): an unknown key was accepted")
        } catch {
            #expect("\(error)".contains("'lerning_rate'") && "\(error)".contains(directory + "/bad.yaml"), "\(error)")
        }
    }

    @Test func sftRefusesTheRewardModelsTarget() throws {
        let file = NSTemporaryDirectory() + "cli-settings-\(getpid())-sft-target.yaml"
        try "target: dense\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect { try Self.yaml(["sft"], Self.required["sft"]! + ["--config", file]) } throws: { error in
            "\(error)".contains("'target: dense'") && "\(error)".contains(file)
        }
        #expect(try Self.settings(["train-rm"], Self.required["train-rm"]!)["target"] == "critique+spans",
                "train-rm records its default target")
    }

    // MARK: - The command tree and its flags

    /// Every leaf subcommand with its path of names.
    static func leaves(_ command: ParsableCommand.Type, path: [String] = []) -> [([String], ParsableCommand.Type)] {
        let subcommands = command.configuration.subcommands
        if subcommands.isEmpty { return [(path, command)] }
        return subcommands.flatMap { sub -> [([String], ParsableCommand.Type)] in
            let name = sub.configuration.commandName ?? sub._commandName
            return name == "help" ? [] : leaves(sub, path: path + [name])
        }
    }

    /// One argument of `--experimental-dump-help`: its long name, kind, names and values.
    struct Argument {
        var name: String
        var isFlag: Bool
        var names: [String]
        var values: [String]
    }

    /// The parser's own description of every command (`--experimental-dump-help`), as JSON.
    static let dump: String = {
        do {
            _ = try Text2Grad.parseAsRoot(["--experimental-dump-help"])
            return ""
        } catch {
            return Text2Grad.fullMessage(for: error)
        }
    }()

    /// A command's arguments as `--help` lists them (hidden ones too), from the parser's own dump.
    static func arguments(of path: [String]) throws -> [Argument] {
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        var command = try #require(tool["command"] as? [String: Any])
        for name in path {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            command = try #require(subcommands.first { $0["commandName"] as? String == name }, "\(name)")
        }
        return (command["arguments"] as? [[String: Any]] ?? []).compactMap { argument in
            let names = (argument["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String != "short" }
                .compactMap { $0["name"] as? String }
            guard let first = names.first, !["help", "version"].contains(first) else { return nil }
            return Argument(name: first, isFlag: argument["kind"] as? String == "flag", names: names,
                            values: argument["allValues"] as? [String] ?? [])
        }
    }

    /// Flag spellings to try, each meant to change the setting from `baseline`.
    static func candidates(_ argument: Argument, baseline: String?) -> [[String]] {
        let flag = "--" + argument.name
        if argument.isFlag { return argument.names.map { ["--" + $0] } }
        if !argument.values.isEmpty { return argument.values.filter { $0 != baseline }.map { [flag, $0] } }
        if let value = values[argument.name] { return [[flag, value]] }
        var out: [String] = []
        if let baseline, let n = Int(baseline) { out.append(String(n + 1)) }
        if let baseline, let x = Double(baseline) { out.append(String(x == 0 ? 0.5 : x / 2)) }
        out += ["3", "0.5", "x-\(argument.name)"]
        return out.map { [flag, $0] }
    }

    // MARK: - Resolving through the real parser

    /// The resolved configuration of `text2grad PATH ARGUMENTS` as its saved file's keys and values.
    static func settings(_ path: [String], _ arguments: [String]) throws -> [String: String] {
        func flat<C: ConfiguredCommand>(_ command: C) throws -> [String: String] {
            var out: [String: String] = [:]
            for (key, value) in ConfigFile.readableNumbers(ConfigFile.flat(try command.resolvedConfig())) {
                out[key.string!] = ConfigFile.describe(value)
            }
            return out
        }
        return try flat(try configured(path, arguments))
    }

    /// The keys a configuration file of the command may hold.
    static func fileKeys(_ path: [String], _ arguments: [String]) throws -> [String] {
        func keys<C: ConfiguredCommand>(_ command: C) -> [String] { ConfigFile.fileKeys(C.Config.self) }
        return keys(try configured(path, arguments))
    }

    /// The resolved configuration as saved.
    static func yaml(_ path: [String], _ arguments: [String]) throws -> String {
        func text<C: ConfiguredCommand>(_ command: C) throws -> String {
            try ConfigFile.yaml(try command.resolvedConfig())
        }
        return try text(try configured(path, arguments))
    }

    static func configured(_ path: [String], _ arguments: [String]) throws -> any ConfiguredCommand {
        let parsed = try Text2Grad.parseAsRoot(path + arguments)
        return try #require(parsed as? any ConfiguredCommand, "\(path) is not configured")
    }
}
