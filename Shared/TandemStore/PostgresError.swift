/// A failure talking to PostgreSQL, with the server's SQLSTATE when there is one.
public enum PostgresError: Error, CustomStringConvertible, Sendable {
    /// libpq could not connect (or reconnect).
    case connectionFailed(message: String)
    /// The server answered a statement with an error.
    case statementFailed(sqlState: String?, message: String)
    /// A text parameter held a NUL byte, which libpq's text protocol cannot carry.
    case parameterContainsNUL(index: Int)
    /// A name that is not a plain lower-case SQL identifier.
    case invalidIdentifier(String)
    /// A result held something the caller did not expect (a bad timestamp, an unknown enum value …).
    case unexpectedResult(String)

    public var sqlState: String? {
        if case .statementFailed(let sqlState, _) = self { return sqlState }
        return nil
    }

    /// Whether retrying later, on a fresh connection, may succeed: the connection broke, the server is
    /// shutting down or starting, out of resources, or the transaction lost a serialization race.
    /// Data errors (SQLSTATE classes 22 and 23) are not transient: the same write fails again.
    public var isTransient: Bool {
        switch self {
        case .connectionFailed: return true
        case .statementFailed(let sqlState, _):
            guard let sqlState else { return true }  // no SQLSTATE: libpq lost the connection
            let errorClass = sqlState.prefix(2)
            return ["08", "53", "57", "58", "40"].contains(errorClass)
        case .parameterContainsNUL, .invalidIdentifier, .unexpectedResult: return false
        }
    }

    /// Whether the data itself was refused (SQLSTATE class 22, data exception, or 23, integrity
    /// constraint violation): the statement fails the same way however often it is retried.
    public var isDataRejection: Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("22") || sqlState.hasPrefix("23")
    }

    public var description: String {
        switch self {
        case .connectionFailed(let message): "PostgreSQL connection failed: \(message)"
        case .statementFailed(let sqlState, let message): "PostgreSQL error \(sqlState ?? "(no SQLSTATE)"): \(message)"
        case .parameterContainsNUL(let index): "parameter $\(index + 1) contains a NUL byte"
        case .invalidIdentifier(let name): "not a plain lower-case SQL identifier: \(name)"
        case .unexpectedResult(let what): "unexpected result from PostgreSQL: \(what)"
        }
    }
}
