import Common
import Foundation
import Logging

/// A log handler that redacts the key (in every echoed form) from each message before the wrapped handler
/// writes it: warnings quote endpoint errors, and an endpoint may echo the request.
public struct RedactingLogHandler: LogHandler {
    private var base: any LogHandler
    private let secret: String?

    /// Wraps `base`, removing `secret` from messages and metadata values.
    public init(wrapping base: any LogHandler, secret: String?) {
        self.base = base
        self.secret = secret
    }

    public var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let cleaned = metadata?.mapValues { Logger.Metadata.Value.string(redact("\($0)", secret: secret)) }
        base.log(level: level, message: "\(redact("\(message)", secret: secret))", metadata: cleaned, source: source,
                 file: file, function: function, line: line)
    }
}
