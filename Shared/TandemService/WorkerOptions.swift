import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

/// The flags every worker executable takes; each also reads an environment variable, so compose
/// files can configure services without command lines.
public struct WorkerOptions: ParsableArguments {
    @Option(name: .long, help: "The router's worker endpoint (env TANDEM_WORKER_ROUTER).")
    public var router: String = ProcessInfo.processInfo.environment["TANDEM_WORKER_ROUTER"] ?? "tcp://127.0.0.1:5556"

    @Option(name: .long, help: "Jobs this worker runs at once (env TANDEM_CAPACITY).")
    public var capacity: Int?

    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.")
    public var heartbeatMilliseconds: Int = ProtocolDefaults.heartbeatMilliseconds

    @Option(name: .long, help: "Missed heartbeats before the router is considered gone.")
    public var liveness: Int = ProtocolDefaults.liveness

    @Option(name: .customLong("shutdown-grace-ms"), help: "How long SIGTERM waits for running jobs.")
    public var shutdownGraceMilliseconds: Int = 10_000

    @Option(name: .long, help: "Name shown by `tandem workers` (default host:pid).")
    public var name: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env TANDEM_LOG_LEVEL).")
    public var logLevel: String = ProcessInfo.processInfo.environment["TANDEM_LOG_LEVEL"] ?? "info"

    public init() {}

    public func configuration(service: String, defaultCapacity: Int, dataEndpoint: String? = nil) -> WorkerConfiguration {
        let capacity = self.capacity ?? ProcessInfo.processInfo.environment["TANDEM_CAPACITY"].flatMap(Int.init) ?? defaultCapacity
        return WorkerConfiguration(
            routerEndpoint: router, service: service, capacity: capacity, heartbeatMilliseconds: heartbeatMilliseconds,
            liveness: liveness, shutdownGraceMilliseconds: shutdownGraceMilliseconds, dataEndpoint: dataEndpoint, name: name)
    }

    /// A logger labelled with the service, at the chosen level.
    public func logger(service: String) -> Logger {
        var logger = Logger(label: "tandem.\(service)")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    /// Runs `handler` as a worker of `service` until SIGTERM or SIGINT.
    public func runWorker(service: String, defaultCapacity: Int, handler: any JobHandler) async throws {
        let logger = logger(service: service)
        let runtime = WorkerRuntime(configuration: configuration(service: service, defaultCapacity: defaultCapacity), handler: handler, logger: logger)
        let group = ServiceGroup(services: [runtime], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// Defaults from the protocol spec ("Heartbeats and liveness").
public enum ProtocolDefaults {
    public static let heartbeatMilliseconds = 1000
    public static let liveness = 3
}
