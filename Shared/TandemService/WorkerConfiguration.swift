/// Settings every worker service shares: where the router is, what it serves, how many jobs at once.
public struct WorkerConfiguration: Sendable {
    public var routerEndpoint: String
    public var service: String
    public var capacity: Int
    public var heartbeatMilliseconds: Int
    public var liveness: Int
    /// This worker's own data-plane endpoint, announced in READY, if it has one.
    public var dataEndpoint: String?

    public init(
        routerEndpoint: String = "tcp://127.0.0.1:5556", service: String, capacity: Int = 1,
        heartbeatMilliseconds: Int = 1000, liveness: Int = 3, dataEndpoint: String? = nil
    ) {
        self.routerEndpoint = routerEndpoint
        self.service = service
        self.capacity = capacity
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.liveness = liveness
        self.dataEndpoint = dataEndpoint
    }
}
