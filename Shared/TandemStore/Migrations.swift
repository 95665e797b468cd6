/// The store's schema, as numbered migrations (river's habit: named states, invariants as CHECK
/// constraints, readable in `psql`).
public enum Migrations {
    public static let all: [Migration] = [initialSchema, timelineWithoutForeignKeys]

    static let initialSchema = Migration(version: 1, name: "jobs, job_events, job_outputs", sql: """
        CREATE TYPE job_state AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

        CREATE TABLE jobs (
            id            uuid        PRIMARY KEY,
            kind          text        NOT NULL,
            service       text        NOT NULL,
            priority      integer     NOT NULL DEFAULT 0,
            state         job_state   NOT NULL DEFAULT 'queued',
            attempts      integer     NOT NULL DEFAULT 0,
            max_attempts  integer     NOT NULL DEFAULT 3,
            params        jsonb       NOT NULL DEFAULT '{}',
            worker        text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz,
            finished_at   timestamptz,
            updated_at    timestamptz NOT NULL DEFAULT now(),
            result        jsonb,
            result_bytes  bytea,
            error_code    text,
            error         text,
            CONSTRAINT jobs_finished_iff_final
                CHECK ((state IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
            CONSTRAINT jobs_running_has_worker
                CHECK (state <> 'running' OR (started_at IS NOT NULL AND worker IS NOT NULL)),
            CONSTRAINT jobs_attempts_in_range
                CHECK (attempts >= 0 AND attempts <= max_attempts),
            CONSTRAINT jobs_failed_has_error
                CHECK (state <> 'failed' OR error IS NOT NULL)
        );
        COMMENT ON TABLE jobs IS 'One row per job; written only by the router (group-committed).';

        -- `tandem jobs --state …` lists by state, newest first; recovery reads the queued ones through it
        -- too (then sorts them by priority: once per start, so no index of its own to update per write).
        CREATE INDEX jobs_state_created_at ON jobs (state, created_at);

        -- The key leads with job_id: the one index serves "a job's timeline in order" and uniqueness,
        -- so each event costs one index insertion, not two.
        CREATE TABLE job_events (
            id      bigserial   NOT NULL,
            job_id  uuid        NOT NULL REFERENCES jobs (id),
            at      timestamptz NOT NULL,
            kind    text        NOT NULL,
            worker  text,
            detail  jsonb,
            PRIMARY KEY (job_id, id)
        );
        COMMENT ON TABLE job_events IS 'Append-only timeline of each job.';

        CREATE FUNCTION job_events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'job_events is append-only: % rejected', TG_OP USING ERRCODE = 'restrict_violation';
        END
        $$;
        CREATE TRIGGER job_events_append_only BEFORE UPDATE OR DELETE ON job_events
            FOR EACH ROW EXECUTE FUNCTION job_events_reject_change();
        CREATE TRIGGER job_events_no_truncate BEFORE TRUNCATE ON job_events
            FOR EACH STATEMENT EXECUTE FUNCTION job_events_reject_change();

        CREATE TABLE job_outputs (
            job_id  uuid        NOT NULL REFERENCES jobs (id),
            seq     bigint      NOT NULL CHECK (seq >= 0),
            data    jsonb,
            bytes   bytea,
            at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job_id, seq)
        );
        COMMENT ON TABLE job_outputs IS 'Per-job ledger of partial results (tokens …), numbered from 0.';
        """)

    /// The per-row foreign-key checks of `job_events` and `job_outputs` took ~25 % of the
    /// backend's CPU at the router's write rate (docs/job-store.md). The router is the only writer
    /// and commits a job's row in the same transaction as, or one before, its first event or
    /// output (the writer's statements run jobs first), so no orphan can be written through it.
    static let timelineWithoutForeignKeys = Migration(version: 2, name: "events and outputs without per-row foreign-key checks", sql: """
        ALTER TABLE job_events DROP CONSTRAINT job_events_job_id_fkey;
        ALTER TABLE job_outputs DROP CONSTRAINT job_outputs_job_id_fkey;
        """)
}
