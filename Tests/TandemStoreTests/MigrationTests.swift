import TandemStore
import TestSupport
import XCTest

final class MigrationTests: XCTestCase {
    func testMigrationsAreIdempotent() throws {
        try TestDatabase.with { database in
            let store = try JobStore(configuration: database.configuration, logger: database.logger)
            XCTAssertEqual(try store.migrate(), Migrations.all.map(\.version))
            XCTAssertEqual(try store.migrate(), [])
            XCTAssertEqual(try store.appliedMigrations(), Migrations.all.map(\.version))
            let tables = try database.connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [database.schema])
            XCTAssertEqual((0..<tables.rowCount).map { tables.string(row: $0, column: 0) },
                           ["job_events", "job_outputs", "jobs", "schema_migrations"])
        }
    }

    func testCheckConstraintsRejectInconsistentRows() throws {
        try TestDatabase.with { database in
            _ = try database.migratedStore()
            let insert = { (columns: String, values: String) throws in
                try database.connection.execute(
                    "INSERT INTO jobs (id, kind, service, \(columns)) VALUES (gen_random_uuid(), 'echo', 'echo', \(values))")
            }
            let cases: [(String, String, String)] = [
                ("state", "'succeeded'", "jobs_finished_iff_final"),
                ("state, finished_at", "'queued', now()", "jobs_finished_iff_final"),
                ("state, started_at", "'running', now()", "jobs_running_has_worker"),
                ("state, finished_at", "'failed', now()", "jobs_failed_has_error"),
                ("attempts, max_attempts", "4, 3", "jobs_attempts_in_range"),
                ("attempts", "-1", "jobs_attempts_in_range"),
            ]
            for (columns, values, constraint) in cases {
                XCTAssertThrowsError(try insert(columns, values), "\(columns) = \(values)") { error in
                    XCTAssertEqual((error as? PostgresError)?.sqlState, "23514", "\(error)")
                    XCTAssertTrue("\(error)".contains(constraint), "\(error)")
                }
            }
            XCTAssertNoThrow(try insert("state, finished_at", "'succeeded', now()"))
        }
    }

    func testEventsAreAppendOnly() throws {
        try TestDatabase.with { database in
            _ = try database.migratedStore()
            try database.connection.executeScript("""
                INSERT INTO jobs (id, kind, service) VALUES ('00000000-0000-0000-0000-000000000001', 'echo', 'echo');
                INSERT INTO job_events (job_id, at, kind) VALUES ('00000000-0000-0000-0000-000000000001', now(), 'submitted');
                """)
            XCTAssertThrowsError(try database.connection.executeScript("UPDATE job_events SET kind = 'changed'"))
            XCTAssertThrowsError(try database.connection.executeScript("DELETE FROM job_events"))
            XCTAssertThrowsError(try database.connection.executeScript("TRUNCATE job_events"))
        }
    }
}
