import CPostgres

/// The rows of one statement's result, in text format; frees the libpq result when released.
///
/// Owned by the thread that ran the statement, like its connection.
public final class PostgresResult {
    private let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { PQclear(handle) }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { Int(PQnfields(handle)) }

    /// Rows touched by an `INSERT`/`UPDATE`/`DELETE` (`PQcmdTuples`), 0 otherwise.
    public var affectedRowCount: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    public func isNull(row: Int, column: Int) -> Bool {
        PQgetisnull(handle, Int32(row), Int32(column)) == 1
    }

    /// The value's text, `nil` for SQL NULL.
    public func string(row: Int, column: Int) -> String? {
        if isNull(row: row, column: column) { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    public func int64(row: Int, column: Int) -> Int64? {
        string(row: row, column: column).flatMap { Int64($0) }
    }

    /// A `bytea` value in PostgreSQL's hex output format (`\x0a1b…`), decoded.
    public func bytes(row: Int, column: Int) throws -> [UInt8]? {
        guard let text = string(row: row, column: column) else { return nil }
        guard let bytes = PostgresHex.decodeBytea(text) else {
            throw PostgresError.unexpectedResult("bytea not in hex format: \(text.prefix(16))")
        }
        return bytes
    }
}
