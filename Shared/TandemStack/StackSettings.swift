/// What `tandem up` decided, saved in `.tandem/stack.json` for `tandem scale` and `tandem down`.
public struct StackSettings: Codable, Sendable, Equatable {
    public var clientEndpoint: String
    public var workerEndpoint: String
    public var databaseURL: String
    /// Whether the database is the stack's own cluster under `.tandem/postgres` (stopped by `down`).
    public var usesPrivateCluster: Bool
    public var schema: String?

    public init(clientEndpoint: String, workerEndpoint: String, databaseURL: String, usesPrivateCluster: Bool, schema: String?) {
        self.clientEndpoint = clientEndpoint
        self.workerEndpoint = workerEndpoint
        self.databaseURL = databaseURL
        self.usesPrivateCluster = usesPrivateCluster
        self.schema = schema
    }
}
