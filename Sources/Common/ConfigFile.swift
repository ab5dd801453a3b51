import Foundation
import Yams

/// A command's settings: one Codable struct whose every field has a documented default (`init()` gives them
/// all) and whose `CodingKeys` are the snake_case YAML keys.
///
/// Every command resolves its settings the same way (`ConfigFile.resolve`):
/// 1. the defaults of `init()`;
/// 2. a YAML file (`--config`), where an unknown or repeated key is an error naming it and a missing key keeps
///    its default;
/// 3. command-line flags, given as `ConfigOverrides`;
/// 4. `validate()`; the result is saved beside the run with `ConfigFile.yaml`, which the same reader reads back.
public protocol RunConfiguration: Codable, Sendable {
    /// The YAML keys, one per field.
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// Every field at its default.
    init()
    /// Checks ranges and required fields; throws `FileError.badConfig` naming the key.
    func validate() throws
}

/// Values set on the command line, by YAML key, applied over the file's.
public struct ConfigOverrides {
    var entries: [(key: String, node: Node)] = []

    /// No overrides.
    public init() {}

    /// Sets `key` when `value` is given (an unset flag leaves the file's value). A dotted key ("sandbox.python")
    /// sets one setting inside a group, keeping the group's others.
    public mutating func set<Value: NodeRepresentable>(_ key: String, _ value: Value?) {
        guard let value, let node = try? value.represented() else { return }
        entries.append((key, node))
    }

    /// Sets a list from a comma-separated flag (`q_proj,v_proj`).
    public mutating func setList(_ key: String, _ value: String?) {
        guard let value else { return }
        let items = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        entries.append((key, Node(items.map { Node($0) })))
    }
}

/// Reading, resolving and writing `RunConfiguration`s.
public enum ConfigFile {
    /// Defaults (`base`, else `init()`), then the YAML file at `path` (if any), then `overrides`; validated.
    public static func resolve<Config: RunConfiguration>(
        _ type: Config.Type, base: Config = Config(), path: String?, overrides: ConfigOverrides = ConfigOverrides()
    ) throws -> Config {
        var text = ""
        if let path {
            text = try InputFile.text(path: path)
        }
        let config = try decode(type, base: base, yaml: text, source: path ?? "defaults", overrides: overrides)
        try config.validate()
        return config
    }

    /// Decodes YAML text over `base` (default: `init()`), with `overrides` on top (not validated).
    public static func decode<Config: RunConfiguration>(
        _ type: Config.Type, base: Config = Config(), yaml text: String, source: String,
        overrides: ConfigOverrides = ConfigOverrides()
    ) throws -> Config {
        let known = Set(Config.CodingKeys.allCases.map(\.stringValue))
        var merged: Node.Mapping
        do {
            guard case .mapping(let defaults)? = try Yams.compose(yaml: try YAMLEncoder().encode(base)) else {
                preconditionFailure("\(Config.self) does not encode to a mapping")
            }
            merged = defaults
        } catch {
            preconditionFailure("\(Config.self)'s defaults do not encode: \(error)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw FileError.badConfig(source: source, detail: "not valid YAML (\(error))")
        }
        var seen = Set<String>()
        switch node {
        case nil:
            break
        case .mapping(let mapping)?:
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else {
                    throw FileError.badConfig(source: source, detail: "keys must be strings")
                }
                guard known.contains(key) else {
                    throw FileError.badConfig(source: source, detail: "unknown key '\(key)'" + suggestion(key, known))
                }
                guard seen.insert(key).inserted else {
                    throw FileError.badConfig(source: source, detail: "key '\(key)' appears twice")
                }
                merged[key] = value
            }
        default:
            throw FileError.badConfig(source: source, detail: "the top level must be a mapping of settings")
        }
        for (key, value) in overrides.entries {
            let path = key.split(separator: ".").map(String.init)
            precondition(known.contains(path[0]), "flag override for unknown key '\(key)'")
            if path.count == 1 {
                merged[key] = value
            } else {
                guard case .mapping(var group)? = merged[path[0]], path.count == 2 else {
                    preconditionFailure("flag override '\(key)' is not a setting inside a group")
                }
                group[path[1]] = value
                merged[path[0]] = .mapping(group)
            }
        }
        let config: Config
        do {
            config = try YAMLDecoder().decode(Config.self, from: Node.mapping(merged))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            throw FileError.badConfig(source: source, detail: "'\(keyPath(context))': \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw FileError.badConfig(source: source, detail: "'\(keyPath(context))' needs a value")
        } catch {
            throw FileError.badConfig(source: source, detail: "\(error)")
        }
        // Inside a group (a mapping value), a key the configuration does not keep is a typo, not a default.
        if case .mapping(let kept)? = try Yams.compose(yaml: try YAMLEncoder().encode(config)) {
            for (key, value) in merged {
                guard let name = key.string, case .mapping(let given) = value,
                      case .mapping(let known)? = kept[name] else { continue }
                for inner in given.keys.compactMap(\.string) where known[inner] == nil {
                    throw FileError.badConfig(source: source, detail: "unknown key '\(name).\(inner)'")
                }
            }
        }
        return config
    }

    /// The configuration as YAML, in the form `resolve` reads back, with numbers as a person writes them (0.7,
    /// 32.0, 0.0005: the shortest decimal that reads back to the same value; the encoder alone writes 7e-1).
    public static func yaml<Config: RunConfiguration>(_ config: Config) throws -> String {
        guard let node = try Yams.compose(yaml: try YAMLEncoder().encode(config)) else { return "" }
        return try Yams.serialize(node: readableNumbers(node))
    }

    /// Plain scalars in exponent form rewritten as Swift's shortest round-trip decimal.
    static func readableNumbers(_ node: Node) -> Node {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain, scalar.string.contains(where: { $0 == "e" || $0 == "E" }),
                  let value = Double(scalar.string), value.isFinite
            else { return node }
            return .scalar(.init("\(value)", scalar.tag, .plain))
        case .mapping(let mapping):
            return .mapping(.init(mapping.map { ($0.key, readableNumbers($0.value)) }, mapping.tag, mapping.style))
        case .sequence(let sequence):
            return .sequence(.init(sequence.map(readableNumbers), sequence.tag, sequence.style))
        default:
            return node
        }
    }

    /// With `--resume`, the run's saved configuration must be the one resolved now, but for the keys in
    /// `mayChange` (more steps, other threads or checkpoint spacing): a resumed run with another model, data or
    /// critic would silently continue a different experiment. Throws naming the first differing key, with both
    /// values; a run without a saved configuration passes.
    public static func checkResume<Config: RunConfiguration>(
        _ config: Config, savedAt path: String, mayChange: Set<String>
    ) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let before = try decode(Config.self, yaml: try InputFile.text(path: path), source: path)
        guard case .mapping(let old)? = try Yams.compose(yaml: try yaml(before)),
              case .mapping(let new)? = try Yams.compose(yaml: try yaml(config))
        else { return }
        for key in Config.CodingKeys.allCases.map(\.stringValue) where !mayChange.contains(key) {
            let was = old[key].map(describe) ?? "unset", now = new[key].map(describe) ?? "unset"
            if was != now {
                throw FileError.badConfig(
                    source: path,
                    detail: "--resume with a different '\(key)' (the run has \(was), now \(now)); resume with the run's "
                        + "settings, or start a new run directory")
            }
        }
    }

    /// A node as one line, for messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string
        case .sequence(let sequence): return "[" + sequence.map(describe).joined(separator: ", ") + "]"
        case .mapping(let mapping): return "{" + mapping.map { "\(describe($0.key)): \(describe($0.value))" }.joined(separator: ", ") + "}"
        default: return "\(node)"
        }
    }

    /// Writes the resolved configuration to `path` (atomically).
    public static func save<Config: RunConfiguration>(_ config: Config, to path: String) throws {
        try OutputFile.write(try yaml(config), to: path, what: "the resolved configuration")
    }

    static func keyPath(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// " (did you mean 'x'?)" for a key one or two edits from a known one.
    static func suggestion(_ key: String, _ known: Set<String>) -> String {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let substitution: Int = previous + (x == y ? 0 : 1)
                    let next: Int = Swift.min(row[j] + 1, row[j + 1] + 1, substitution)
                    previous = row[j + 1]
                    row[j + 1] = next
                }
            }
            return row[b.count]
        }
        var best: (key: String, distance: Int)?
        for candidate in known.sorted() {
            let d = distance(Array(key), Array(candidate))
            if best == nil || d < best!.distance { best = (candidate, d) }
        }
        guard let best, best.distance <= 2 else { return "" }
        return " (did you mean '\(best.key)'?)"
    }
}
