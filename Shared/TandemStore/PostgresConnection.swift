import CPostgres
import Foundation

/// `SQLSTATE` field code for `PQresultErrorField`; libpq's `PG_DIAG_SQLSTATE` is a char-literal macro
/// (`'C'`) that Swift does not import.
let pgDiagSQLState: Int32 = 67

/// One libpq connection.
///
/// Threading rule: a connection is used by one thread at a time. It moves between threads (the
/// writer opens it on the caller's thread and hands it to its own), hence `@unchecked Sendable`,
/// but it is never shared: no two threads call into it concurrently.
///
/// ```swift
/// let connection = try PostgresConnection(url: "postgresql://postgres@/postgres?host=/tmp/pg&port=5432")
/// let result = try connection.execute("SELECT $1::int + 1", ["41"])
/// print(result.string(row: 0, column: 0)!)  // 42
/// ```
public final class PostgresConnection: @unchecked Sendable {
    public let url: String
    private let connectTimeoutSeconds: Int
    private let applicationName: String
    /// Statements run after every (re)connect, such as `SET search_path`.
    private let sessionSetup: [String]
    private var handle: OpaquePointer?

    public init(
        url: String, connectTimeoutSeconds: Int = 5, applicationName: String = "tandem", sessionSetup: [String] = []
    ) throws {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.applicationName = applicationName
        self.sessionSetup = sessionSetup
        try connect()
    }

    /// Opens the connection for the store: its URL, timeout and `search_path` from `configuration`.
    public convenience init(configuration: StoreConfiguration, role: String) throws {
        try self.init(
            url: configuration.databaseURL, connectTimeoutSeconds: configuration.connectTimeoutSeconds,
            applicationName: "\(configuration.applicationName) \(role)", sessionSetup: configuration.sessionSetup)
    }

    deinit { close() }

    /// Whether libpq believes the connection is usable.
    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Drops the connection, if any, and opens a new one.
    public func reconnect() throws {
        close()
        try connect()
    }

    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Runs one statement with text parameters (`PQexecParams`); `nil` is SQL NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        try execute(sql, bytes: parameters.map { $0.map { Array($0.utf8) } })
    }

    /// Runs one statement whose text parameters are given as UTF-8 bytes (no terminating NUL), so
    /// large array literals are passed without a detour through `String`.
    @discardableResult
    public func execute(_ sql: String, bytes parameters: [[UInt8]?]) throws -> PostgresResult {
        let handle = try connectedHandle()
        var values: [UnsafeMutablePointer<CChar>?] = []
        values.reserveCapacity(parameters.count)
        defer { values.forEach { $0?.deallocate() } }
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else { values.append(nil); continue }
            if parameter.contains(0) { throw PostgresError.parameterContainsNUL(index: index) }
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: parameter.count + 1)
            parameter.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(copy).copyMemory(from: source.baseAddress!, byteCount: source.count)
            }
            copy[parameter.count] = 0
            values.append(copy)
        }
        let result = values.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) {
                PQexecParams(handle, sql, Int32(parameters.count), nil, parameters.isEmpty ? nil : $0, nil, nil, 0)
            }
        }
        return try checked(result)
    }

    /// Runs a script of several statements without parameters (`PQexec`), as migrations need.
    public func executeScript(_ sql: String) throws {
        let handle = try connectedHandle()
        _ = try checked(PQexec(handle, sql))
    }

    /// Runs `body` inside `BEGIN` … `COMMIT`, rolling back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try executeScript("BEGIN")
        do {
            let value = try body()
            try executeScript("COMMIT")
            return value
        } catch {
            if isConnected { try? executeScript("ROLLBACK") }
            throw error
        }
    }

    private func connect() throws {
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = ["\(connectTimeoutSeconds)", applicationName, url]
        let keywordPointers = keywords.map { strdup($0) } + [nil]
        let valuePointers = values.map { strdup($0) } + [nil]
        defer { (keywordPointers + valuePointers).forEach { free($0) } }
        // expand_dbname = 1: the URL in `dbname` is parsed, and its settings override the ones before it.
        let connection = keywordPointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { keywordBuffer in
            valuePointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { valueBuffer in
                PQconnectdbParams(keywordBuffer.baseAddress, valueBuffer.baseAddress, 1)
            }
        }
        guard let connection else { throw PostgresError.connectionFailed(message: "libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw PostgresError.connectionFailed(message: message)
        }
        // Notices ("schema already exists, skipping") would otherwise go to stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
        for statement in sessionSetup { try executeScript(statement) }
    }

    private func connectedHandle() throws -> OpaquePointer {
        guard let handle else { throw PostgresError.connectionFailed(message: "connection is closed") }
        return handle
    }

    private func checked(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else {
            let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "no connection"
            throw PostgresError.statementFailed(sqlState: nil, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(handle: result)
        default:
            let sqlState = PQresultErrorField(result, pgDiagSQLState).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQclear(result)
            throw PostgresError.statementFailed(sqlState: sqlState, message: message)
        }
    }
}
