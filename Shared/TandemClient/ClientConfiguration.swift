/// Where a client finds the router and how long it waits for answers.
public struct ClientConfiguration: Sendable {
    public static let defaultRouterEndpoint = "tcp://127.0.0.1:5555"

    public var routerEndpoint: String
    public var replyTimeoutMilliseconds: Int

    public init(routerEndpoint: String = ClientConfiguration.defaultRouterEndpoint, replyTimeoutMilliseconds: Int = 10_000) {
        self.routerEndpoint = routerEndpoint
        self.replyTimeoutMilliseconds = replyTimeoutMilliseconds
    }
}
