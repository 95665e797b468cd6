import ArgumentParser
import Foundation
import ServiceLifecycle
import TandemDecode
import TandemDraft
import TandemModel
import TandemService

/// `tandem-draft`: a worker of the `draft` service: proposes draft tokens for decode workers'
/// sequences over its data-plane socket (docs/generate.md, "The draft service").
@main
struct DraftMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tandem-draft",
                                                    abstract: "Draft worker: proposes draft tokens for decode workers (prompt lookup, early exit, a draft model).")

    @OptionGroup var options: WorkerOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var dataPlane: DataPlaneOptions

    @Option(name: .customLong("early-exit-layers"), help: "Layers of the model that draft for early-exit speculation (0: no early exit).")
    var earlyExitLayers = 8

    @Option(name: .customLong("draft-model"), help: "Draft model (name or GGUF path) for model speculation; its vocabulary must be the model's (env TANDEM_DRAFT_MODEL).")
    var draftModel: String? = ProcessInfo.processInfo.environment["TANDEM_DRAFT_MODEL"]

    @Option(name: .customLong("kv-tokens"), help: "Draft KV cache size in token positions, per model method.")
    var kvTokens = 8192

    @Flag(name: .customLong("parallel-drafting"), inversion: .prefixedNo,
          help: "Draft the next round ahead while the decode worker verifies (PEARL), for model methods.")
    var parallelDrafting = true

    @Option(name: .customLong("idle-timeout-s"), help: "Forget a sequence after this many seconds without a request.")
    var idleTimeoutSeconds = 60

    func run() async throws {
        let logger = options.logger(service: "draft")
        var drafters: [any Drafter] = [PromptLookupDrafter()]
        if earlyExitLayers > 0 || draftModel != nil {
            // A model that cannot be loaded leaves prompt lookup; a draft model with another
            // vocabulary than the model's is refused here, at startup (DraftVocabularyError).
            do {
                let file = try GGUFFile(path: try ModelStore().resolve(modelOptions.model))
                let model = try LlamaModel(file: file, threads: modelOptions.threads)
                if earlyExitLayers > 0 {
                    guard earlyExitLayers < model.config.blockCount else {
                        throw ValidationError("--early-exit-layers must be below the model's \(model.config.blockCount) layers")
                    }
                    drafters.append(ModelDrafter(earlyExitOf: model, layers: earlyExitLayers, kvTokens: kvTokens))
                }
                if let draftModel {
                    let draftFile = try GGUFFile(path: try ModelStore().resolve(draftModel))
                    drafters.append(try ModelDrafter(draft: try LlamaModel(file: draftFile, threads: modelOptions.threads),
                                                     draftTokenizer: try BPETokenizer(file: draftFile), targetTokenizer: try BPETokenizer(file: file),
                                                     kvTokens: kvTokens))
                }
            } catch let error as DraftVocabularyError {
                throw error
            } catch let error as ValidationError {
                throw error
            } catch {
                if draftModel != nil { throw error }
                logger.warning("model not loaded, drafting with prompt lookup only: \(error)")
            }
        }
        let server = try DraftServer(drafters: drafters, settings: .init(bind: dataPlane.endpoint, advertise: dataPlane.advertise, parallelDrafting: parallelDrafting,
                                                                         idleTimeout: .seconds(idleTimeoutSeconds)))
        logger.info("drafting with \(server.methods.map(\.rawValue).sorted().joined(separator: ", ")) at \(server.endpoint)")
        let runtime = WorkerRuntime(configuration: options.configuration(service: "draft", defaultCapacity: 1, dataEndpoint: server.endpoint),
                                    handler: DraftJobHandler(server: server), logger: logger)
        try await ServiceGroup(services: [runtime], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        server.shutdown()
    }
}
