import ArgumentParser
import Foundation
import TandemClient

/// Where the CLI finds the router: `--router`, else `TANDEM_ROUTER`, else the local default.
struct RouterOptions: ParsableArguments {
    @Option(name: .long, help: "The router's client endpoint (env TANDEM_ROUTER, default \(ClientConfiguration.defaultRouterEndpoint)).")
    var router: String?

    @Option(name: .customLong("timeout-ms"), help: "How long to wait for the router to answer.")
    var timeoutMilliseconds: Int = 5000

    var endpoint: String {
        router ?? ProcessInfo.processInfo.environment["TANDEM_ROUTER"] ?? ClientConfiguration.defaultRouterEndpoint
    }

    func connect() throws -> RouterClient {
        try RouterClient(configuration: .init(routerEndpoint: endpoint, replyTimeoutMilliseconds: timeoutMilliseconds))
    }
}
