import ArgumentParser
import Foundation
import ServiceLifecycle
import TandemClient
import TandemDecode
import TandemModel
import TandemService

/// `tandem-decode`: a worker of the `decode` service (job kind `generate`).
@main
struct DecodeMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tandem-decode",
                                                    abstract: "Decode worker: continuous batching of generations over one model.")

    @OptionGroup var options: WorkerOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("kv-tokens"), help: "KV cache size in token positions, all sequences together.")
    var kvTokens = 4096

    @Option(name: .customLong("max-step-tokens"), help: "Tokens per forward call at most (prefill chunk size).")
    var maxStepTokens = 256

    @Option(name: .customLong("max-running"), help: "Sequences in the running batch at most.")
    var maxRunning = 64

    @OptionGroup var dataPlane: DataPlaneOptions

    @Option(name: .customLong("router-clients"), help: "The router's client endpoint, for submitting prefill jobs (env TANDEM_ROUTER).")
    var routerClients = ProcessInfo.processInfo.environment["TANDEM_ROUTER"] ?? ClientConfiguration.defaultRouterEndpoint

    @Option(name: .customLong("prefill-min-tokens"),
            help: "Prompts of at least this many tokens go to a prefill worker when one is registered (0: always prefill in place).")
    var prefillMinTokens = 256

    @Option(name: .customLong("early-exit-layers"), help: "Layers of the model that draft for early-exit speculation (0: off).")
    var earlyExitLayers = 8

    @Option(name: .customLong("draft-model"), help: "Draft model (name or GGUF path) for model speculation; its vocabulary must be the model's.")
    var draftModel: String?

    @Option(name: .customLong("speculate-max-batch"), help: "Running sequences above which nobody speculates.")
    var speculateMaxBatch = SpeculationPolicy().maxBatchToSpeculate

    @Option(name: .customLong("remote-draft-methods"),
            help: "Draft methods (comma-separated) asked of draft workers when one is live (env TANDEM_REMOTE_DRAFT_METHODS; empty: none).")
    var remoteDraftMethods = ProcessInfo.processInfo.environment["TANDEM_REMOTE_DRAFT_METHODS"] ?? ""

    @Option(name: .customLong("draft-timeout-ms"), help: "How long a step waits for a draft worker before drafting without it (env TANDEM_DRAFT_TIMEOUT_MS).")
    var draftTimeoutMilliseconds = ProcessInfo.processInfo.environment["TANDEM_DRAFT_TIMEOUT_MS"].flatMap(Int.init) ?? 100

    func validate() throws {
        _ = try parsedRemoteDraftMethods()
        guard draftTimeoutMilliseconds >= 1 else { throw ValidationError("--draft-timeout-ms must be at least 1") }
    }

    func parsedRemoteDraftMethods() throws -> Set<DraftMethod> {
        Set(try remoteDraftMethods.split(separator: ",").map { name in
            guard let method = DraftMethod(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--remote-draft-methods: \(name) is not one of \(DraftMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return method
        })
    }

    func run() async throws {
        let remoteMethods = try parsedRemoteDraftMethods()
        var draftPool: DraftWorkerPool?
        if !remoteMethods.isEmpty {
            // Within one heartbeat interval a dead draft worker is dropped and a new one found.
            let pool = DraftWorkerPool(settings: .init(timeout: .milliseconds(draftTimeoutMilliseconds),
                                                       bench: .milliseconds(options.heartbeatMilliseconds)))
            DraftWorkerDirectory(routerEndpoint: routerClients, interval: .milliseconds(options.heartbeatMilliseconds), pool: pool).start()
            draftPool = pool
        }
        let provider = DecodeEngineProvider(settings: .init(
            model: modelOptions.model, threads: modelOptions.threads,
            engine: .init(kvTokens: kvTokens, blockSizeTokens: 16, maxStepTokens: maxStepTokens, maxRunning: maxRunning,
                          speculation: SpeculationPolicy(maxBatchToSpeculate: speculateMaxBatch)),
            earlyExitLayers: earlyExitLayers, draftModel: draftModel, remoteDraftMethods: remoteMethods, draftPool: draftPool))
        let logger = options.logger(service: "decode")
        if draftModel != nil {
            // A draft model that cannot draft (another vocabulary) is refused at startup, not per job.
            _ = try provider.engine()
        } else {
            // Load the model now rather than on the first job; a missing model is reported per job.
            Task.detached {
                do { _ = try provider.engine() } catch { logger.warning("model not loaded: \(error)") }
            }
        }
        let name = options.name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        let inbox = try KVHandoffInbox(bind: dataPlane.endpoint, advertise: dataPlane.advertise)
        let disaggregated = DisaggregatedPrefill(routerEndpoint: routerClients, minimumPromptTokens: prefillMinTokens, inbox: inbox) {
            logger.info("prefilling in place: \($0)")
        }
        let handler = GenerateHandler(provider: provider, workerName: name, disaggregated: disaggregated)
        let runtime = WorkerRuntime(configuration: options.configuration(service: "decode", defaultCapacity: 64, dataEndpoint: inbox.endpoint),
                                    handler: handler, logger: logger)
        try await ServiceGroup(services: [runtime], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
