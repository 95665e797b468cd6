import Foundation
import Logging
import TandemStore
import XCTest

/// A fresh PostgreSQL schema for one test, dropped when the test ends (river's `riverdbtest`).
///
/// ```swift
/// func testSomething() throws {
///     try TestDatabase.with { database in
///         let store = try database.migratedStore()
///         …
///     }
/// }
/// ```
public final class TestDatabase: @unchecked Sendable {
    public let url: String
    public let schema: String
    public let configuration: StoreConfiguration
    /// A connection with `search_path` set to the test's schema, for checks in plain SQL.
    public let connection: PostgresConnection
    public let logger: Logger

    public enum Failure: Error, CustomStringConvertible {
        case noDatabase
        public var description: String {
            "TANDEM_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts a private "
                + "PostgreSQL cluster (or set TANDEM_ALLOW_NO_DATABASE=1 to skip database tests)"
        }
    }

    /// Creates a schema named after a random number (a fresh one per call), runs `body`, and drops
    /// the schema afterwards, whether `body` returned or threw.
    public static func with<T>(
        maxBatchWrites: Int = 2000, maxDelayMilliseconds: Int = 2, _ body: (TestDatabase) throws -> T
    ) throws -> T {
        let database = try TestDatabase(maxBatchWrites: maxBatchWrites, maxDelayMilliseconds: maxDelayMilliseconds)
        defer { database.drop() }
        return try body(database)
    }

    /// A fresh schema; call `drop()` when done (tests that start processes do it in `tearDown`).
    public init(maxBatchWrites: Int = 2000, maxDelayMilliseconds: Int = 2) throws {
        guard let url = TestEnvironment.databaseURL else {
            if TestEnvironment.allowsNoDatabase { throw XCTSkip("no TANDEM_TEST_DATABASE_URL (TANDEM_ALLOW_NO_DATABASE=1)") }
            throw Failure.noDatabase
        }
        self.url = url
        schema = "test_\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff)"
        configuration = try StoreConfiguration(
            databaseURL: url, schema: schema, maxBatchWrites: maxBatchWrites, maxDelayMilliseconds: maxDelayMilliseconds,
            retryDelayMilliseconds: 20, maxRetryDelayMilliseconds: 200, shutdownGraceMilliseconds: 2000)
        connection = try PostgresConnection(configuration: configuration, role: "test")
        var logger = Logger(label: "tandem.test")
        logger.logLevel = .warning
        self.logger = logger
    }

    /// A `JobStore` on this schema, migrated.
    public func migratedStore() throws -> JobStore {
        let store = try JobStore(configuration: configuration, logger: logger)
        try store.migrate()
        return store
    }

    public func drop() {
        do {
            if !connection.isConnected { try connection.reconnect() }
            try connection.executeScript("DROP SCHEMA IF EXISTS \(PostgresIdentifier.quoted(schema)) CASCADE")
        } catch {
            print("warning: could not drop test schema \(schema): \(error)")
        }
        connection.close()
    }
}
