/// Puts a prompt's KV blocks back together from the parts a prefill worker streams while it
/// computes (`KVHandoffMessage`): parts arrive in order on one connection, each continuing where
/// the last ended; the final one completes the handoff.
///
/// Pure: the decode worker's data-plane thread feeds it; tests feed it by hand. The result's
/// `blobs` are the parts' blobs in order (`PagedKVCache.importBlocks` takes them as they are).
public struct KVHandoffAssembly: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// More parts are expected.
        case partial
        /// Every block is here.
        case complete(KVHandoff)
        /// The part does not continue this handoff (wrong order, another prompt, another layout);
        /// the handoff is abandoned and its decode job prefills in place.
        case refused(String)
    }

    private var assembled: KVHandoff
    private var nextBlock: Int

    /// Starts with the handoff's first part.
    public static func start(_ part: KVHandoff) -> (KVHandoffAssembly?, Outcome) {
        let blocks = (part.tokens.count + part.blockSizeTokens - 1) / part.blockSizeTokens
        var whole = part
        whole.blobs = []
        whole.blobs.reserveCapacity(blocks)
        whole.firstBlock = 0
        whole.final = false
        var assembly = KVHandoffAssembly(assembled: whole, nextBlock: 0)
        let outcome = assembly.add(part)
        if case .partial = outcome { return (assembly, outcome) }
        return (nil, outcome)
    }

    private init(assembled: KVHandoff, nextBlock: Int) {
        self.assembled = assembled
        self.nextBlock = nextBlock
    }

    /// Adds the next part.
    public mutating func add(_ part: KVHandoff) -> Outcome {
        guard part.handoff == assembled.handoff, part.tokens == assembled.tokens, part.blockSizeTokens == assembled.blockSizeTokens,
              part.blockBytes == assembled.blockBytes else { return .refused("a part of handoff \(part.handoff) for another prompt or layout") }
        guard part.firstBlock == nextBlock else {
            return .refused("handoff \(part.handoff): part starts at block \(part.firstBlock), expected \(nextBlock)")
        }
        // The parts' blobs are kept as they came: joining them would copy every byte once more,
        // and the final part's copy into fresh pages sat on the first token's path.
        assembled.blobs += part.blobs
        nextBlock += part.byteCount / part.blockBytes
        guard part.final else { return .partial }
        assembled.final = true
        assembled.firstToken = part.firstToken
        assembled.computedAtMicroseconds = part.computedAtMicroseconds
        return .complete(assembled)
    }
}
