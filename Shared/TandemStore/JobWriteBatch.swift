import Foundation

/// The writes of one transaction, folded into a few set-based statements.
///
/// Upserts keep the last row per job id (the router hands whole rows, so the last one is the
/// truth); events and outputs keep their order. Each column travels as one array-literal text
/// parameter and is `unnest`ed on the server: 2,000 rows are three statements, not 2,000.
struct JobWriteBatch {
    private(set) var jobs: [JobRow] = []
    private(set) var events: [JobEvent] = []
    private(set) var outputs: [JobOutput] = []
    private var jobIndex: [UUID: Int] = [:]

    init<S: Sequence>(_ writes: S) where S.Element == JobWrite {
        for write in writes { add(write) }
    }

    var isEmpty: Bool { jobs.isEmpty && events.isEmpty && outputs.isEmpty }

    /// Rows the batch writes: one per job, event and output.
    var rowCount: Int { jobs.count + events.count + outputs.count }

    mutating func add(_ write: JobWrite) {
        switch write {
        case .upsert(let row):
            if let index = jobIndex[row.id] {
                jobs[index] = row
            } else {
                jobIndex[row.id] = jobs.count
                jobs.append(row)
            }
        case .event(let event): events.append(event)
        case .output(let output): outputs.append(output)
        }
    }

    /// The statements to run inside one transaction, jobs first (events and outputs reference them).
    func statements() -> [(sql: String, parameters: [[UInt8]?])] {
        var statements: [(sql: String, parameters: [[UInt8]?])] = []
        if !jobs.isEmpty { statements.append((Self.upsertJobsSQL, jobColumns())) }
        if !events.isEmpty { statements.append((Self.insertEventsSQL, eventColumns())) }
        if !outputs.isEmpty { statements.append((Self.insertOutputsSQL, outputColumns())) }
        return statements
    }

    private func jobColumns() -> [[UInt8]?] {
        var columns = (0..<16).map { _ in PostgresArrayLiteral(reservingCapacity: jobs.count * 16) }
        for row in jobs {
            columns[0].appendBare(row.id.uuidString)
            columns[1].appendText(row.kind)
            columns[2].appendText(row.service)
            columns[3].appendInteger(row.priority)
            columns[4].appendBare(row.state.rawValue)
            columns[5].appendInteger(row.attempts)
            columns[6].appendInteger(row.maxAttempts)
            columns[7].appendText(row.params)
            columns[8].appendText(row.worker)
            columns[9].appendInteger(PostgresTimestamp.microseconds(row.createdAt))
            columns[10].appendInteger(row.startedAt.map(PostgresTimestamp.microseconds))
            columns[11].appendInteger(row.finishedAt.map(PostgresTimestamp.microseconds))
            columns[12].appendText(row.result)
            columns[13].appendBytea(row.resultBytes)
            columns[14].appendText(row.errorCode)
            columns[15].appendText(row.error)
        }
        return columns.map { $0.finished() }
    }

    private func eventColumns() -> [[UInt8]?] {
        var columns = (0..<5).map { _ in PostgresArrayLiteral(reservingCapacity: events.count * 16) }
        for event in events {
            columns[0].appendBare(event.jobId.uuidString)
            columns[1].appendInteger(PostgresTimestamp.microseconds(event.at))
            columns[2].appendText(event.kind)
            columns[3].appendText(event.worker)
            columns[4].appendText(event.detail)
        }
        return columns.map { $0.finished() }
    }

    private func outputColumns() -> [[UInt8]?] {
        var columns = (0..<4).map { _ in PostgresArrayLiteral(reservingCapacity: outputs.count * 16) }
        for output in outputs {
            columns[0].appendBare(output.jobId.uuidString)
            columns[1].appendInteger(output.seq)
            columns[2].appendText(output.data)
            columns[3].appendBytea(output.bytes)
        }
        return columns.map { $0.finished() }
    }

    // `params`, `kind`, `service` and `created_at` are immutable: an update never rewrites them.
    static let upsertJobsSQL = """
        INSERT INTO jobs (id, kind, service, priority, state, attempts, max_attempts, params, worker,
                          created_at, started_at, finished_at, updated_at, result, result_bytes, error_code, error)
        SELECT u.id, u.kind, u.service, u.priority, u.state, u.attempts, u.max_attempts, u.params::jsonb, u.worker,
               \(PostgresTimestamp.sqlFromMicroseconds("u.created_us")),
               \(PostgresTimestamp.sqlFromMicroseconds("u.started_us")),
               \(PostgresTimestamp.sqlFromMicroseconds("u.finished_us")),
               now(), u.result::jsonb, u.result_bytes, u.error_code, u.error
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::job_state[], $6::int4[], $7::int4[],
                    $8::text[], $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::bytea[],
                    $15::text[], $16::text[])
             AS u(id, kind, service, priority, state, attempts, max_attempts, params, worker,
                  created_us, started_us, finished_us, result, result_bytes, error_code, error)
        ON CONFLICT (id) DO UPDATE SET
            priority = EXCLUDED.priority, state = EXCLUDED.state, attempts = EXCLUDED.attempts,
            max_attempts = EXCLUDED.max_attempts, worker = EXCLUDED.worker, started_at = EXCLUDED.started_at,
            finished_at = EXCLUDED.finished_at, updated_at = EXCLUDED.updated_at, result = EXCLUDED.result,
            result_bytes = EXCLUDED.result_bytes, error_code = EXCLUDED.error_code, error = EXCLUDED.error
        """

    // WITH ORDINALITY + ORDER BY: event ids follow the order the router wrote them.
    static let insertEventsSQL = """
        INSERT INTO job_events (job_id, at, kind, worker, detail)
        SELECT u.job_id, \(PostgresTimestamp.sqlFromMicroseconds("u.at_us")), u.kind, u.worker, u.detail::jsonb
        FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::text[])
             WITH ORDINALITY AS u(job_id, at_us, kind, worker, detail, position)
        ORDER BY u.position
        """

    // A replayed output (same job and seq) is already in the ledger: keep the first one.
    static let insertOutputsSQL = """
        INSERT INTO job_outputs (job_id, seq, data, bytes)
        SELECT u.job_id, u.seq, u.data::jsonb, u.bytes
        FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::bytea[]) AS u(job_id, seq, data, bytes)
        ON CONFLICT (job_id, seq) DO NOTHING
        """
}
