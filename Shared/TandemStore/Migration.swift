/// One numbered step of the store's schema. Applied once, in its own transaction, in order of
/// `version`, and recorded in `schema_migrations`. A released migration never changes: a change is
/// a new migration.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    /// Statements run with `search_path` set to the store's schema, so names are unqualified.
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}
