import ArgumentParser
import Foundation
import TandemModel
import TandemPrefill
import TandemService

/// `tandem-prefill`: a worker of the `prefill` service: computes prompts and ships their KV
/// blocks straight to decode workers.
@main
struct PrefillMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tandem-prefill",
                                                    abstract: "Prefill worker: computes prompts and sends their KV blocks to decode workers.")

    @OptionGroup var options: WorkerOptions

    @Option(help: "Model name or GGUF path (env TANDEM_MODEL).")
    var model = ProcessInfo.processInfo.environment["TANDEM_MODEL"] ?? ModelCatalog.defaultModel.name

    @Option(help: "Compute threads of the forward pass.")
    var threads = 2

    @Option(name: .customLong("chunk-tokens"), help: "Prompt tokens per forward call.")
    var chunkTokens = 256

    func run() async throws {
        let name = options.name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        let handler = PrefillHandler(modelName: model, threads: threads, workerName: name, chunkTokens: chunkTokens)
        let logger = options.logger(service: "prefill")
        handler.preload { logger.warning("model not loaded: \($0)") }
        try await options.runWorker(service: "prefill", defaultCapacity: 4, handler: handler)
    }
}
