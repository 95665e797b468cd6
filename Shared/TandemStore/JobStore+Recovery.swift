extension JobStore {
    /// What a restarted router does first, in one transaction: no worker holds a job any more, so
    /// every `running` job either fails (its attempts are used up) or goes back to `queued` with its
    /// worker cleared and a `requeued` event. Returns every queued job, highest priority first, then
    /// oldest first: the router's queues rebuilt.
    ///
    /// `attempts` counts dispatches, so a requeued job keeps its count and the next dispatch adds one.
    public func recoverAfterRestart(reason: String) throws -> [JobRow] {
        let detail = "{\"reason\": \(JSONLiteral.quoted(reason))}"
        return try connection.transaction {
            try connection.execute("""
                WITH exhausted AS (
                    SELECT id, worker FROM jobs
                    WHERE state = 'running' AND attempts >= max_attempts
                    FOR UPDATE
                ), failed AS (
                    UPDATE jobs j SET state = 'failed', finished_at = now(), updated_at = now(),
                                      error_code = 'attempts_exhausted', error = $1
                    FROM exhausted WHERE j.id = exhausted.id
                    RETURNING j.id, exhausted.worker
                )
                INSERT INTO job_events (job_id, at, kind, worker, detail)
                SELECT id, now(), 'failed', worker, $2::jsonb FROM failed
                """, [reason, detail])
            try connection.execute("""
                WITH orphaned AS (
                    SELECT id, worker FROM jobs
                    WHERE state = 'running' AND attempts < max_attempts
                    FOR UPDATE
                ), requeued AS (
                    UPDATE jobs j SET state = 'queued', worker = NULL, started_at = NULL, updated_at = now()
                    FROM orphaned WHERE j.id = orphaned.id
                    RETURNING j.id, orphaned.worker
                )
                INSERT INTO job_events (job_id, at, kind, worker, detail)
                SELECT id, now(), 'requeued', worker, $1::jsonb FROM requeued
                """, [detail])
            let result = try connection.execute("""
                SELECT \(JobRow.selectColumns) FROM jobs WHERE state = 'queued'
                ORDER BY priority DESC, created_at, id
                """)
            return try (0..<result.rowCount).map { try JobRow(result, row: $0) }
        }
    }
}
