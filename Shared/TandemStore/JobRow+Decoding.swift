import Foundation

extension JobRow {
    /// The columns `init(_:row:)` reads, in its order.
    static let selectColumns = """
        id, kind, service, priority, state::text, attempts, max_attempts, params::text, worker, \
        \(PostgresTimestamp.sqlToMicroseconds("created_at")), \(PostgresTimestamp.sqlToMicroseconds("started_at")), \
        \(PostgresTimestamp.sqlToMicroseconds("finished_at")), result::text, result_bytes, error_code, error
        """

    init(_ result: PostgresResult, row: Int) throws {
        func required(_ column: Int) throws -> String {
            guard let value = result.string(row: row, column: column) else {
                throw PostgresError.unexpectedResult("jobs row \(row): column \(column) is NULL")
            }
            return value
        }
        func integer(_ column: Int) throws -> Int64 {
            guard let value = Int64(try required(column)) else {
                throw PostgresError.unexpectedResult("jobs row \(row): column \(column) is not an integer")
            }
            return value
        }
        func date(_ column: Int) -> Date? {
            result.int64(row: row, column: column).map(PostgresTimestamp.date(microseconds:))
        }
        guard let id = UUID(uuidString: try required(0)) else { throw PostgresError.unexpectedResult("jobs.id") }
        guard let state = JobState(rawValue: try required(4)) else { throw PostgresError.unexpectedResult("jobs.state") }
        self.init(
            id: id, kind: try required(1), service: try required(2), priority: Int32(try integer(3)), state: state,
            attempts: Int32(try integer(5)), maxAttempts: Int32(try integer(6)), params: try required(7),
            worker: result.string(row: row, column: 8), createdAt: PostgresTimestamp.date(microseconds: try integer(9)),
            startedAt: date(10), finishedAt: date(11), result: result.string(row: row, column: 12),
            resultBytes: try result.bytes(row: row, column: 13), errorCode: result.string(row: row, column: 14),
            error: result.string(row: row, column: 15))
    }
}
