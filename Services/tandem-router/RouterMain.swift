import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TandemDecode
import TandemModel
import TandemRouter

/// `tandem-router`: the broker between clients and workers, keeping job state in PostgreSQL.
@main
struct RouterMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tandem-router", abstract: "Tandem router: job queues, dispatch, streaming, PostgreSQL job store.")

    @Option(name: .long, help: "Client endpoint to bind (env TANDEM_ROUTER_CLIENTS).")
    var clients: String = ProcessInfo.processInfo.environment["TANDEM_ROUTER_CLIENTS"] ?? "tcp://127.0.0.1:5555"

    @Option(name: .long, help: "Worker endpoint to bind (env TANDEM_ROUTER_WORKERS).")
    var workers: String = ProcessInfo.processInfo.environment["TANDEM_ROUTER_WORKERS"] ?? "tcp://127.0.0.1:5556"

    @Option(name: .customLong("database-url"), help: "libpq URL of the job store (env TANDEM_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .long, help: "PostgreSQL schema for the tables (env TANDEM_SCHEMA).")
    var schema: String = ProcessInfo.processInfo.environment["TANDEM_SCHEMA"] ?? "tandem"

    @Option(name: .customLong("max-queue"), help: "Jobs a service queue holds before answering busy.")
    var maxQueue: Int = 100_000

    @Option(name: .customLong("max-attempts"), help: "Default dispatch attempts per job.")
    var maxAttempts: Int32 = 3

    @Option(name: .customLong("ready-file"), help: "Write the bound endpoints here as JSON once listening (for supervisors and tests).")
    var readyFile: String?

    @Option(name: .long, help: "Model whose tokenizer profiles generations' prompts for routing them (name or .gguf path; env TANDEM_MODEL). If it is missing, generations go by free slots.")
    var model: String = ProcessInfo.processInfo.environment["TANDEM_MODEL"] ?? ModelCatalog.defaultModel.name

    @Option(name: .customLong("prefill-min-tokens"),
            help: "Uncached prompt tokens from which a prefill worker computes a generation's prompt, when one has a free slot (env TANDEM_PREFILL_MIN_TOKENS).")
    var prefillMinTokens = ProcessInfo.processInfo.environment["TANDEM_PREFILL_MIN_TOKENS"].flatMap { Int($0) } ?? GenerateRoutePlanner.Policy().minRemoteTokens

    @Option(name: .customLong("log-level"), help: "trace … critical (env TANDEM_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["TANDEM_LOG_LEVEL"] ?? "info"

    func run() async throws {
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["TANDEM_DATABASE_URL"] else {
            throw ValidationError("no job store: pass --database-url or set TANDEM_DATABASE_URL (`tandem up` does this for a local stack)")
        }
        var logger = Logger(label: "tandem.router")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var routing: GenerateRouting?
        do {
            let profiler = try GeneratePromptProfiler(model: model)
            routing = GenerateRouting(policy: .init(minRemoteTokens: prefillMinTokens), profile: profiler.profile)
        } catch {
            logger.warning("generations are routed by free slots only: no tokenizer (\(error))")
        }
        let router = try Router(
            configuration: .init(clientEndpoint: clients, workerEndpoint: workers, databaseURL: url, schema: schema,
                                 maxQueuedPerService: maxQueue, defaultMaxAttempts: maxAttempts, generateRouting: routing),
            logger: logger)
        if let readyFile {
            let endpoints = ["clients": router.clientEndpoint, "workers": router.workerEndpoint, "pid": "\(getpid())"]
            let data = try JSONSerialization.data(withJSONObject: endpoints, options: [.sortedKeys])
            try data.write(to: URL(fileURLWithPath: readyFile), options: .atomic)
        }
        let group = ServiceGroup(services: [RouterService(router: router)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
