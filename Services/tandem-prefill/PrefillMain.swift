import ArgumentParser
import Foundation
import TandemDecode
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

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("chunk-tokens"), help: "Prompt tokens per forward call.")
    var chunkTokens = 256

    @Option(name: .customLong("tail-tokens"),
            help: "The fewest of a long prompt's last tokens computed on their own, from a block boundary, so only their KV blocks (one or two) are sent after the compute; the rest streams during it.")
    var tailTokens = 16

    func run() async throws {
        let name = options.name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        let handler = PrefillHandler(modelName: modelOptions.model, threads: modelOptions.threads, workerName: name, chunkTokens: chunkTokens, tailTokens: tailTokens)
        let logger = options.logger(service: "prefill")
        handler.preload { logger.warning("model not loaded: \($0)") }
        try await options.runWorker(service: "prefill", defaultCapacity: 4, handler: handler)
    }
}
