/// Settings of one router process, from flags and environment (see `tandem-router --help`).
public struct RouterConfiguration: Sendable {
    /// Where clients connect (`ROUTER`).
    public var clientEndpoint: String
    /// Where workers connect (`ROUTER`).
    public var workerEndpoint: String
    public var databaseURL: String
    /// PostgreSQL schema that holds the tables; tests use one per test.
    public var schema: String
    /// Jobs a service queue holds before new submissions are answered `busy`.
    public var maxQueuedPerService: Int
    public var heartbeatMilliseconds: Int
    public var liveness: Int

    public init(
        clientEndpoint: String = "tcp://127.0.0.1:5555", workerEndpoint: String = "tcp://127.0.0.1:5556",
        databaseURL: String, schema: String = "tandem", maxQueuedPerService: Int = 100_000,
        heartbeatMilliseconds: Int = 1000, liveness: Int = 3
    ) {
        self.clientEndpoint = clientEndpoint
        self.workerEndpoint = workerEndpoint
        self.databaseURL = databaseURL
        self.schema = schema
        self.maxQueuedPerService = maxQueuedPerService
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.liveness = liveness
    }
}
