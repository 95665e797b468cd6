import Foundation
import Logging

/// Synchronous reads and maintenance of the job store, on a connection of its own.
///
/// All state changes of running jobs go through `JobStoreWriter`; this type migrates the schema,
/// recovers after a restart and answers queries (`tandem jobs`, the router's reader thread).
/// Like its connection, a `JobStore` is used by one thread at a time.
///
/// ```swift
/// let store = try JobStore(configuration: configuration)
/// try store.migrate()
/// let queued = try store.recoverAfterRestart(reason: "router restarted")
/// ```
public final class JobStore: @unchecked Sendable {
    public let configuration: StoreConfiguration
    let connection: PostgresConnection
    let logger: Logger

    public init(configuration: StoreConfiguration, logger: Logger = Logger(label: "tandem.store")) throws {
        self.configuration = configuration
        self.logger = logger
        connection = try PostgresConnection(configuration: configuration, role: "store")
    }

    /// Creates the schema if needed and applies missing migrations; returns the versions applied.
    @discardableResult
    public func migrate() throws -> [Int] {
        try SchemaMigrator(connection: connection, schema: configuration.schema, logger: logger).migrate()
    }

    /// The versions recorded in `schema_migrations`, ascending.
    public func appliedMigrations() throws -> [Int] {
        let result = try connection.execute("SELECT version FROM schema_migrations ORDER BY version")
        return (0..<result.rowCount).compactMap { result.int64(row: $0, column: 0).map(Int.init) }
    }

    public func job(id: UUID) throws -> JobRow? {
        let result = try connection.execute("SELECT \(JobRow.selectColumns) FROM jobs WHERE id = $1", [id.uuidString])
        return try result.rowCount == 0 ? nil : JobRow(result, row: 0)
    }

    /// Jobs newest first, in one state or all.
    public func jobs(state: JobState? = nil, limit: Int = 100) throws -> [JobRow] {
        let result = try connection.execute("""
            SELECT \(JobRow.selectColumns) FROM jobs
            WHERE $1::job_state IS NULL OR state = $1::job_state
            ORDER BY created_at DESC, id LIMIT $2
            """, [state?.rawValue, "\(max(0, limit))"])
        return try (0..<result.rowCount).map { try JobRow(result, row: $0) }
    }

    /// The job's timeline, in the order it was written.
    public func events(jobId: UUID) throws -> [JobEvent] {
        let result = try connection.execute("""
            SELECT job_id, \(PostgresTimestamp.sqlToMicroseconds("at")), kind, worker, detail::text
            FROM job_events WHERE job_id = $1 ORDER BY id
            """, [jobId.uuidString])
        return try (0..<result.rowCount).map { row in
            guard let id = result.string(row: row, column: 0).flatMap(UUID.init(uuidString:)),
                  let at = result.int64(row: row, column: 1), let kind = result.string(row: row, column: 2)
            else { throw PostgresError.unexpectedResult("job_events row \(row)") }
            return JobEvent(
                jobId: id, at: PostgresTimestamp.date(microseconds: at), kind: kind,
                worker: result.string(row: row, column: 3), detail: result.string(row: row, column: 4))
        }
    }

    /// The job's output ledger, by `seq`.
    public func outputs(jobId: UUID) throws -> [JobOutput] {
        let result = try connection.execute(
            "SELECT job_id, seq, data::text, bytes FROM job_outputs WHERE job_id = $1 ORDER BY seq", [jobId.uuidString])
        return try (0..<result.rowCount).map { row in
            guard let id = result.string(row: row, column: 0).flatMap(UUID.init(uuidString:)),
                  let seq = result.int64(row: row, column: 1)
            else { throw PostgresError.unexpectedResult("job_outputs row \(row)") }
            return JobOutput(jobId: id, seq: seq, data: result.string(row: row, column: 2), bytes: try result.bytes(row: row, column: 3))
        }
    }

    /// How many jobs are in each state; every state is present, zero when none.
    public func countsByState() throws -> [JobState: Int] {
        let result = try connection.execute("SELECT state::text, count(*) FROM jobs GROUP BY state")
        var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
        for row in 0..<result.rowCount {
            guard let state = result.string(row: row, column: 0).flatMap(JobState.init(rawValue:)),
                  let count = result.int64(row: row, column: 1)
            else { throw PostgresError.unexpectedResult("countsByState row \(row)") }
            counts[state] = Int(count)
        }
        return counts
    }

    /// Autocommit single-row INSERTs per second into a scratch table: what one commit per write
    /// costs here, the reference figure next to the writer's batched rate.
    public func measureSingleRowInsertRate(rows: Int) throws -> Double {
        try connection.executeScript("""
            DROP TABLE IF EXISTS insert_rate_scratch;
            CREATE TABLE insert_rate_scratch (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text);
            """)
        defer { try? connection.executeScript("DROP TABLE IF EXISTS insert_rate_scratch") }
        let start = DispatchTime.now().uptimeNanoseconds
        for row in 0..<rows {
            try connection.execute("INSERT INTO insert_rate_scratch (payload) VALUES ($1)", ["row \(row)"])
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(rows) / max(seconds, 1e-9)
    }
}
