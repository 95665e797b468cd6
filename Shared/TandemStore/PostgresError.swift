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

    /// Whether the data itself was refused (SQLSTATE class 22, data exception; 23, integrity
    /// constraint violation; 54, program limit exceeded, such as an array over 1 GB): the statement
    /// fails the same way however often it is retried, though a part of it may succeed.
    public var isDataRejection: Bool {
        guard let sqlState else { return false }
        return ["22", "23", "54"].contains(sqlState.prefix(2))
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
