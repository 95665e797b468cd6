/// What the router knows of a generation's prompt for routing it: its length and the prefix hash
/// after each full KV block (the decode workers' `PagedKVCache` hashes), made by the router's
/// `GenerateRouting.profile` when the job is submitted.
public struct PromptProfile: Sendable, Equatable {
    public var tokens: Int
    public var blockSizeTokens: Int
    public var prefixHashes: [UInt64]

    public init(tokens: Int, blockSizeTokens: Int, prefixHashes: [UInt64]) {
        self.tokens = tokens
        self.blockSizeTokens = blockSizeTokens
        self.prefixHashes = prefixHashes
    }
}
