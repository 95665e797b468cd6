import ArgumentParser
import Foundation
import TandemModel

/// The model flags of the model services (`tandem-decode`, `tandem-prefill`).
public struct ModelOptions: ParsableArguments {
    @Option(help: "Model name or GGUF path (env TANDEM_MODEL).")
    public var model = ProcessInfo.processInfo.environment["TANDEM_MODEL"] ?? ModelCatalog.defaultModel.name

    @Option(help: "Compute threads of the forward pass.")
    public var threads = 2

    public init() {}
}
