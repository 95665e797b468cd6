/// Where the job store lives and how the group-commit writer batches.
///
/// ```swift
/// let configuration = try StoreConfiguration(databaseURL: "postgresql://postgres@/postgres?host=/tmp/pg&port=5432")
/// let store = try JobStore(configuration: configuration)
/// try store.migrate()
/// ```
public struct StoreConfiguration: Sendable {
    /// A libpq connection URI, `postgresql://user@host:port/db` or `postgresql://user@/db?host=/socket/dir&port=N`.
    public var databaseURL: String
    /// The PostgreSQL schema that holds every table, type and function of the store. Tests use a fresh one each.
    public var schema: String
    /// The most writes one transaction of the writer carries.
    public var maxBatchWrites: Int
    /// How long the writer lets the oldest pending write wait for company before it commits.
    /// Zero commits as soon as the writer is free; while a commit runs, writes pile up anyway.
    public var maxDelayMilliseconds: Int
    /// First wait after a failed commit; doubles up to `maxRetryDelayMilliseconds`.
    public var retryDelayMilliseconds: Int
    public var maxRetryDelayMilliseconds: Int
    /// After `shutdown()` the writer keeps retrying an unreachable database this long, then gives the
    /// unacknowledged writes up (and says how many in the log).
    public var shutdownGraceMilliseconds: Int
    /// libpq's `connect_timeout`, in seconds.
    public var connectTimeoutSeconds: Int
    /// Shown in `pg_stat_activity.application_name`.
    public var applicationName: String

    public init(
        databaseURL: String, schema: String = "tandem", maxBatchWrites: Int = 2000, maxDelayMilliseconds: Int = 2,
        retryDelayMilliseconds: Int = 50, maxRetryDelayMilliseconds: Int = 2000, shutdownGraceMilliseconds: Int = 10_000,
        connectTimeoutSeconds: Int = 5, applicationName: String = "tandem"
    ) throws {
        guard PostgresIdentifier.isPlain(schema) else { throw PostgresError.invalidIdentifier(schema) }
        precondition(maxBatchWrites > 0, "maxBatchWrites must be positive")
        self.databaseURL = databaseURL
        self.schema = schema
        self.maxBatchWrites = maxBatchWrites
        self.maxDelayMilliseconds = max(0, maxDelayMilliseconds)
        self.retryDelayMilliseconds = max(1, retryDelayMilliseconds)
        self.maxRetryDelayMilliseconds = max(self.retryDelayMilliseconds, maxRetryDelayMilliseconds)
        self.shutdownGraceMilliseconds = max(0, shutdownGraceMilliseconds)
        self.connectTimeoutSeconds = max(1, connectTimeoutSeconds)
        self.applicationName = applicationName
    }

    /// Statements every connection of the store runs right after it connects (and reconnects).
    var sessionSetup: [String] {
        ["SET search_path TO \(PostgresIdentifier.quoted(schema))"]
    }
}
