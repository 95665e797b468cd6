/// Settings every worker service shares: where the router is, what it serves, how many jobs at once.
public struct WorkerConfiguration: Sendable {
    public var routerEndpoint: String
    public var service: String
    public var capacity: Int
    public var heartbeatMilliseconds: Int
    public var liveness: Int
    /// How long a SIGTERM waits for in-flight jobs before handing the rest back.
    public var shutdownGraceMilliseconds: Int
    /// This worker's own data-plane endpoint, announced in READY, if it has one.
    public var dataEndpoint: String?
    /// Shown by `tandem workers`; defaults to host:pid.
    public var name: String?

    public init(
        routerEndpoint: String = "tcp://127.0.0.1:5556", service: String, capacity: Int = 1,
        heartbeatMilliseconds: Int = 1000, liveness: Int = 3, shutdownGraceMilliseconds: Int = 10_000,
        dataEndpoint: String? = nil, name: String? = nil
    ) {
        self.routerEndpoint = routerEndpoint
        self.service = service
        self.capacity = capacity
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.liveness = liveness
        self.shutdownGraceMilliseconds = shutdownGraceMilliseconds
        self.dataEndpoint = dataEndpoint
        self.name = name
    }
}
