import Common
import Foundation

/// Everything `text2grad serve` needs: the model and decoding groups and the server's settings; defaults, then
/// YAML (`--config`), then flags. The API key is never a YAML key (the `TEXT2GRAD_API_KEY` variable or `--api-key`).
public struct ServeConfig: RunConfiguration, Equatable {
    /// The model (none with `teacher`) and the engine's threads.
    public var model = ModelSettings()
    /// The precision decoding reads the matrices in.
    public var decoding = DecodingSettings()
    /// A LoRA adapter directory (PEFT format), folded into the weights.
    public var adapter: String?
    /// A rule-based teacher to serve instead of a model.
    public var teacher: ServedTeacher?
    /// The built-in teacher's quotes per label at most; 0 quotes every right fact and every problem.
    public var maxQuotes = 2
    /// The model id clients send (default: the model directory's name, or `builtin-teacher`).
    public var modelName: String?
    /// The address to bind: loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// The port (0: any free port, printed at start).
    public var port = 8080
    /// Required of every request when set; never saved.
    public var apiKey: String?
    /// Sequences generated together at most.
    public var maxBatch = 8
    /// Waiting sequences beyond which requests get 503.
    public var maxQueue = 256
    /// The largest request body in bytes (413 beyond).
    public var maxBodyBytes = 1 << 20
    /// The response budget of a request that gives no `max_tokens`.
    public var maxNewTokens = 256

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case model, decoding, adapter, teacher, maxQuotes = "max_quotes", modelName = "model_name", host, port
        case maxBatch = "max_batch", maxQueue = "max_queue", maxBodyBytes = "max_body_bytes"
        case maxNewTokens = "max_new_tokens"
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.model, ModelSettings.self), (.decoding, DecodingSettings.self)]
    }

    public init() {}

    /// The defaults, with the API key from `TEXT2GRAD_API_KEY`.
    public init(environment: [String: String]) {
        apiKey = environment["TEXT2GRAD_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "serve", detail: reason) }
        try model.validate(requireModel: false, fail)
        for (key, value) in [("max_batch", maxBatch), ("max_queue", maxQueue), ("max_body_bytes", maxBodyBytes),
                             ("max_new_tokens", maxNewTokens)] where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        guard (0...65535).contains(port) else { throw fail("'port' must be in 0...65535") }
        if teacher != nil {
            guard maxQuotes >= 0 else { throw fail("'max_quotes' must be ≥ 0") }
            guard model.path.isEmpty, adapter == nil else {
                throw fail("a teacher serves no model: drop --model and --adapter")
            }
        } else if model.path.isEmpty {
            throw fail("give --model DIR (or --teacher builtin)")
        }
    }

    /// The HTTP server's settings, serving `name`.
    public func server(name: String) -> ServerConfiguration {
        var settings = ServerConfiguration(modelName: name)
        settings.host = host
        settings.port = port
        settings.apiKey = apiKey
        settings.maxBodyBytes = maxBodyBytes
        settings.defaultMaxTokens = maxNewTokens
        return settings
    }
}

/// A rule-based teacher `serve` can answer as, instead of a model.
public enum ServedTeacher: String, Codable, Sendable, CaseIterable {
    /// The built-in fact-summary task's teacher.
    case builtin
}
