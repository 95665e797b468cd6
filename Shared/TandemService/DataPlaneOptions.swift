import ArgumentParser

/// The data-plane flags of the workers that peers connect to directly (`tandem-decode` for KV
/// handoffs, `tandem-draft` for drafts; docs/generate.md).
public struct DataPlaneOptions: ParsableArguments {
    @Option(name: .customLong("data-endpoint"), help: "Data-plane socket to bind (peers connect to it directly, not through the router).")
    public var endpoint = "tcp://127.0.0.1:*"

    @Option(name: .customLong("data-advertise"),
            help: "The data-plane address peers connect to (default: the bound one; for a wildcard bind, this host's address).")
    public var advertise: String?

    public init() {}
}
