/// Settings of one router process, from flags and environment (see `tandem-router --help`).
public struct RouterConfiguration: Sendable {
    /// Job kinds whose service is not named like the kind. Any other kind must name a service
    /// that is listed in `services` or has a worker registered.
    public static let defaultKindRoutes: [String: String] = ["render": "diffusion", "generate": "decode"]
    public static let defaultServices: [String] = ["echo", "prefill", "decode", "draft", "diffusion", "checkpoint"]

    /// Where clients connect (`ROUTER`).
    public var clientEndpoint: String
    /// Where workers connect (`ROUTER`).
    public var workerEndpoint: String
    public var databaseURL: String
    /// PostgreSQL schema that holds the tables; tests use one per test.
    public var schema: String
    /// Jobs a service queue holds before new submissions are answered `busy`.
    public var maxQueuedPerService: Int
    public var defaultMaxAttempts: Int32
    /// The router's own heartbeat interval: the longest its poll loop sleeps.
    public var heartbeatMilliseconds: Int
    public var services: [String]
    public var kindRoutes: [String: String]
    /// Routing of generations by prompt and KV-cache state; nil: they go by free slots like any job.
    public var generateRouting: GenerateRouting?

    public init(
        clientEndpoint: String = "tcp://127.0.0.1:5555", workerEndpoint: String = "tcp://127.0.0.1:5556",
        databaseURL: String, schema: String = "tandem", maxQueuedPerService: Int = 100_000, defaultMaxAttempts: Int32 = 3,
        heartbeatMilliseconds: Int = 1000, services: [String] = RouterConfiguration.defaultServices,
        kindRoutes: [String: String] = RouterConfiguration.defaultKindRoutes, generateRouting: GenerateRouting? = nil
    ) {
        self.generateRouting = generateRouting
        self.clientEndpoint = clientEndpoint
        self.workerEndpoint = workerEndpoint
        self.databaseURL = databaseURL
        self.schema = schema
        self.maxQueuedPerService = maxQueuedPerService
        self.defaultMaxAttempts = defaultMaxAttempts
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.services = services
        self.kindRoutes = kindRoutes
    }

    /// The service whose queue takes jobs of `kind`, or nil for a kind nothing serves.
    public func service(forKind kind: String, registered: Set<String>) -> String? {
        if let routed = kindRoutes[kind] { return routed }
        return services.contains(kind) || registered.contains(kind) ? kind : nil
    }

    public func knownKinds(registered: Set<String>) -> [String] {
        Array(Set(kindRoutes.keys).union(services).union(registered)).sorted()
    }
}
