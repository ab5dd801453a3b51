import Foundation
import Yams

/// A command's settings: one Codable struct whose every field has a documented default (`init()` gives them
/// all) and whose `CodingKeys` are the snake_case YAML keys. Shared settings come in `SettingsGroup`s, stored as
/// fields and listed in `flattenedGroups`, whose keys sit at the top level of the file beside the configuration's
/// own (every saved config.yaml is one flat mapping).
///
/// Every command resolves its settings the same way (`ConfigFile.resolve`):
/// 1. the defaults of `init()` (or a command's own base, such as train-rm's);
/// 2. a YAML file (`--config`), where an unknown or repeated key is an error naming it and the file, a missing key
///    keeps its default, and a key an earlier version wrote (`renamedKeys`) is read under its new name;
/// 3. command-line flags, set by key path (a flag mirror's `apply`), so a renamed field is a compile error;
/// 4. `validate()`; the result is saved beside the run with `ConfigFile.save`, which the same reader reads back.
public protocol RunConfiguration: Codable, Sendable {
    /// The YAML keys of the configuration's own fields and of its groups.
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// Every field at its default.
    init()
    /// Checks ranges and required fields; throws naming the key.
    func validate() throws
    /// The groups whose keys are written at the top level, each with the field that holds it.
    static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] { get }
    /// Keys earlier versions wrote, each mapped to the key it is read as now.
    static var renamedKeys: [String: String] { get }
}

extension RunConfiguration {
    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] { [] }
    public static var renamedKeys: [String: String] { [:] }

    /// Sets the field at `path` when a flag gave `value` (an unset flag keeps the file's value).
    public mutating func override<Value>(_ path: WritableKeyPath<Self, Value>, _ value: Value?) {
        if let value { self[keyPath: path] = value }
    }

    /// Sets an optional field at `path` when a flag gave `value`.
    public mutating func override<Value>(_ path: WritableKeyPath<Self, Value?>, _ value: Value?) {
        if let value { self[keyPath: path] = value }
    }
}

/// Reading, resolving and writing `RunConfiguration`s.
public enum ConfigFile {
    /// Defaults (`base`, else `init()`), then the YAML file at `path` (if any), then `flags`; validated.
    public static func resolve<Config: RunConfiguration>(
        _ type: Config.Type, base: Config = Config(), path: String?, flags: (inout Config) throws -> Void = { _ in }
    ) throws -> Config {
        var text = ""
        if let path {
            text = try InputFile.text(path: path)
        }
        var config = try decode(type, base: base, yaml: text, source: path ?? "defaults")
        try flags(&config)
        try config.validate()
        return config
    }

    /// Decodes YAML text over `base` (default: `init()`); not validated.
    public static func decode<Config: RunConfiguration>(
        _ type: Config.Type, base: Config = Config(), yaml text: String, source: String
    ) throws -> Config {
        let known = Set(fileKeys(Config.self))
        let renamed = Config.flattenedGroups.reduce(Config.renamedKeys) { all, group in
            all.merging(group.group.renamedKeys) { own, _ in own }
        }
        var merged = flat(base)
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
                guard let written = keyNode.string else {
                    throw FileError.badConfig(source: source, detail: "keys must be strings")
                }
                let key = renamed[written] ?? written
                guard known.contains(key) else {
                    throw FileError.badConfig(source: source, detail: "unknown key '\(key)'" + suggestion(key, known))
                }
                guard seen.insert(key).inserted else {
                    let also = key == written ? "" : " (as '\(written)', its earlier name)"
                    throw FileError.badConfig(source: source, detail: "key '\(key)' appears twice\(also)")
                }
                // A nested group's settings replace the defaults' one by one (the others keep the command's defaults).
                if case .mapping(var inner)? = merged[key], case .mapping(let given) = value {
                    for (innerKey, innerValue) in given { inner[innerKey] = innerValue }
                    merged[key] = .mapping(inner)
                } else {
                    merged[key] = value
                }
            }
        default:
            throw FileError.badConfig(source: source, detail: "the top level must be a mapping of settings")
        }
        let config: Config
        do {
            config = try YAMLDecoder().decode(Config.self, from: Node.mapping(nested(merged, Config.self)))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            throw FileError.badConfig(
                source: source, detail: "'\(keyPath(context, Config.self))': \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw FileError.badConfig(source: source, detail: "'\(keyPath(context, Config.self))' needs a value")
        } catch {
            throw FileError.badConfig(source: source, detail: "\(error)")
        }
        // Inside a nested group (a mapping value), a key the configuration does not keep is a typo.
        let kept = merged.values.contains { $0.mapping != nil } ? flat(config) : Node.Mapping([])
        for (key, value) in merged {
            guard let name = key.string, case .mapping(let given) = value, case .mapping(let known)? = kept[name]
            else { continue }
            for inner in given.keys.compactMap(\.string) where known[inner] == nil {
                throw FileError.badConfig(source: source, detail: "unknown key '\(name).\(inner)'")
            }
        }
        return config
    }

    /// Every key a file of `Config` may hold: its own fields' and, in place of each flattened group, the group's.
    public static func fileKeys<Config: RunConfiguration>(_ type: Config.Type) -> [String] {
        let groups = Dictionary(uniqueKeysWithValues: Config.flattenedGroups.map { ($0.field.stringValue, $0.group) })
        return Config.CodingKeys.allCases.flatMap { key in
            groups[key.stringValue].map { $0.keys } ?? [key.stringValue]
        }
    }

    /// The configuration encoded, with its flattened groups' settings at the top level (the file's form).
    static func flat<Config: RunConfiguration>(_ config: Config) -> Node.Mapping {
        let node: Node?
        do {
            node = try Yams.compose(yaml: try YAMLEncoder().encode(config))
        } catch {
            preconditionFailure("\(Config.self) does not encode: \(error)")
        }
        guard case .mapping(let mapping)? = node else { preconditionFailure("\(Config.self) is not a mapping") }
        let groups = Set(Config.flattenedGroups.map(\.field.stringValue))
        var out = Node.Mapping([])
        for (key, value) in mapping {
            if let name = key.string, groups.contains(name) {
                guard case .mapping(let inner) = value else { preconditionFailure("group '\(name)' is not a mapping") }
                for (innerKey, innerValue) in inner {
                    precondition(out[innerKey] == nil, "\(Config.self): key \(innerKey) is in two groups")
                    out[innerKey] = innerValue
                }
            } else {
                out[key] = value
            }
        }
        return out
    }

    /// A file's flat mapping with each flattened group's keys moved under the field that holds the group.
    static func nested<Config: RunConfiguration>(_ flat: Node.Mapping, _ type: Config.Type) -> Node.Mapping {
        var owner: [String: String] = [:]
        for (field, group) in Config.flattenedGroups {
            for key in group.keys { owner[key] = field.stringValue }
        }
        var out = Node.Mapping([])
        var groups: [String: Node.Mapping] = [:]
        for (field, _) in Config.flattenedGroups { groups[field.stringValue] = Node.Mapping([]) }
        for (key, value) in flat {
            if let name = key.string, let field = owner[name] {
                groups[field]![key] = value
            } else {
                out[key] = value
            }
        }
        for (field, mapping) in groups { out[field] = .mapping(mapping) }
        return out
    }

    /// The configuration as YAML, in the form `resolve` reads back, with numbers as a person writes them (0.7,
    /// 32.0, 0.0005: the shortest decimal that reads back to the same value; the encoder alone writes 7e-1).
    public static func yaml<Config: RunConfiguration>(_ config: Config) throws -> String {
        try Yams.serialize(node: .mapping(readableNumbers(flat(config))))
    }

    /// `readableNumbers` of each value of a mapping.
    static func readableNumbers(_ mapping: Node.Mapping) -> Node.Mapping {
        .init(mapping.map { ($0.key, readableNumbers($0.value)) }, mapping.tag, mapping.style)
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
            return .mapping(readableNumbers(mapping))
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
        let old = readableNumbers(flat(before)), new = readableNumbers(flat(config))
        for key in fileKeys(Config.self) where !mayChange.contains(key) {
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

    /// The failing key as the file names it (a flattened group's field is not part of the file's path).
    static func keyPath<Config: RunConfiguration>(_ context: DecodingError.Context, _ type: Config.Type) -> String {
        var path = context.codingPath
        let groups = Set(Config.flattenedGroups.map(\.field.stringValue))
        if let first = path.first?.stringValue, groups.contains(first) { path.removeFirst() }
        return path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
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
