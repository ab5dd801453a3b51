import Generation
import JSON

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with its HTTP status.
public struct APIError: Error, CustomStringConvertible, Equatable, Sendable {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public var description: String { "\(status) \(type): \(message)" }

    /// 400: the request cannot be used as sent.
    public static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 401: missing or wrong API key (the key itself is never echoed).
    public static let unauthorized = APIError(
        status: 401, message: "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>'.",
        type: "invalid_request_error", param: nil, code: "invalid_api_key")

    /// 404: a model this server does not serve.
    public static func unknownModel(_ name: String, served: String) -> APIError {
        APIError(status: 404, message: "The model '\(name)' does not exist; this server serves '\(served)'.",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// 404: no such endpoint.
    public static func notFound(_ path: String) -> APIError {
        APIError(status: 404, message: "Unknown endpoint \(path).", type: "invalid_request_error", param: nil,
                 code: "unknown_url")
    }

    /// 413: the body exceeds the server's limit.
    public static func tooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "The request body exceeds \(limit) bytes.", type: "invalid_request_error",
                 param: nil, code: "request_too_large")
    }

    /// 503: the queue is full; retry later.
    public static func overloaded(_ message: String) -> APIError {
        APIError(status: 503, message: message, type: "server_error", param: nil, code: "overloaded")
    }

    /// 500: generation failed.
    public static func internalError(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "server_error", param: nil, code: nil)
    }

    /// The JSON body.
    public var body: JSONValue {
        ["error": ["message": JSONValue(message), "type": JSONValue(type), "param": JSONValue(param),
                   "code": JSONValue(code)]]
    }
}

extension APIError {
    /// The answer to a request the scheduler would not queue: 503 when retrying can help, else 400.
    public init(_ error: SchedulerError) {
        switch error {
        case let .overloaded(message):
            self = .overloaded(message)
        case let .tooManySequences(requested, limit):
            self = .badRequest(
                "The request asks for \(requested) sequences; at most \(limit) can ever be queued.", param: "n")
        }
    }
}
