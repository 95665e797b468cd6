/// One sequence's part of a forward call: the new tokens to append at its next positions and
/// which of them need logits.
public struct ForwardRequest: Sendable {
    /// The KV cache sequence the tokens extend.
    public var sequence: Int
    /// New tokens: 1 for decode, k+1 for speculative verification, a chunk for prefill.
    public var tokens: [Int32]
    /// Indices into `tokens` whose next-token logits are returned.
    public var logitIndices: [Int]

    public init(sequence: Int, tokens: [Int32], logitIndices: [Int]) {
        self.sequence = sequence; self.tokens = tokens; self.logitIndices = logitIndices
    }

    /// Logits for the last token only (prefill and plain decode).
    public init(sequence: Int, tokens: [Int32]) {
        self.init(sequence: sequence, tokens: tokens, logitIndices: tokens.isEmpty ? [] : [tokens.count - 1])
    }
}
