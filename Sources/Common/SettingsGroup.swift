import Foundation

/// A group of settings several commands share (the model, LoRA, the optimizer, the training loop, sampling, an
/// endpoint, the critic): one Codable struct with its defaults, ranges and documentation, composed into each
/// command's `RunConfiguration` and set from the command line by one flag mirror. Its `CodingKeys` are the keys
/// it is written under in a flat config.yaml (`lora_rank`, not `lora.rank`), so they are unique across groups.
public protocol SettingsGroup: Codable, Sendable, Equatable {
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// Every setting at its default.
    init()
    /// Keys earlier versions wrote, each mapped to the key it is read as now.
    static var renamedKeys: [String: String] { get }
}

extension SettingsGroup {
    public static var renamedKeys: [String: String] { [:] }

    /// The group's keys in a configuration file.
    public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

    /// Sets the setting at `path` when a flag gave `value`.
    public mutating func override<Value>(_ path: WritableKeyPath<Self, Value>, _ value: Value?) {
        if let value { self[keyPath: path] = value }
    }

    /// Sets an optional setting at `path` when a flag gave `value`.
    public mutating func override<Value>(_ path: WritableKeyPath<Self, Value?>, _ value: Value?) {
        if let value { self[keyPath: path] = value }
    }
}

/// The machine the tool runs on.
public enum Machine {
    /// The one default thread count of every command (`threads:`, `--threads`): every online core.
    public static var defaultThreadCount: Int {
        #if os(Linux)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
        #endif
    }
}
