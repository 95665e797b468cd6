import Logging

/// Brings a schema up to the newest migration: creates it if needed, then applies each missing
/// migration in its own transaction and records it in `schema_migrations`.
///
/// Safe to run from several processes at once: every transaction first takes a transaction-level
/// advisory lock keyed by the schema name, so migrations are applied once and in order.
struct SchemaMigrator {
    var connection: PostgresConnection
    var schema: String
    var migrations: [Migration] = Migrations.all
    var logger: Logger

    /// Returns the versions it applied (empty when the schema was already current).
    @discardableResult
    func migrate() throws -> [Int] {
        let quotedSchema = PostgresIdentifier.quoted(schema)
        try connection.transaction {
            try lock()
            try connection.executeScript("""
                CREATE SCHEMA IF NOT EXISTS \(quotedSchema);
                CREATE TABLE IF NOT EXISTS \(quotedSchema).schema_migrations (
                    version     integer     PRIMARY KEY,
                    name        text        NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                );
                """)
        }
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            let didApply = try connection.transaction { () throws -> Bool in
                try lock()
                let existing = try connection.execute(
                    "SELECT 1 FROM \(quotedSchema).schema_migrations WHERE version = $1", ["\(migration.version)"])
                guard existing.rowCount == 0 else { return false }
                try connection.executeScript("SET LOCAL search_path TO \(quotedSchema)")
                try connection.executeScript(migration.sql)
                try connection.execute(
                    "INSERT INTO \(quotedSchema).schema_migrations (version, name) VALUES ($1, $2)",
                    ["\(migration.version)", migration.name])
                return true
            }
            if didApply {
                logger.info("applied migration", metadata: ["schema": "\(schema)", "version": "\(migration.version)"])
                applied.append(migration.version)
            }
        }
        return applied
    }

    private func lock() throws {
        try connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", ["tandem.migrate." + schema])
    }
}
