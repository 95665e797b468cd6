/// A job that cannot finish. Thrown by a handler; `retryable` lets the router try another attempt.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var retryable: Bool

    public init(code: String, message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }
}
