/// One iteration's batch, as `DecodeScheduler.schedule()` decided it: the executor releases the
/// preempted sequences' cache, runs one forward call over `items`, samples where asked and hands
/// the tokens to `update`.
public struct DecodeStep: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var sequence: Int
        /// The tokens to append (a prefill chunk, a recompute chunk, or the one last sampled token).
        public var tokens: [Int32]
        /// Whether this chunk reaches the end of the sequence, so its last logits yield a token.
        public var samples: Bool
        /// True when the sequence has nothing in the cache yet: the executor creates it first.
        public var startsSequence: Bool
        /// With `startsSequence`: this many leading tokens are imported (precomputed keys and
        /// values), and `tokens` follow them.
        public var importedTokens: Int
        /// The last this many of `tokens` are drafts to verify: logits are needed at every one of
        /// the last `draftedTokens + 1` positions, and update() takes 1 to `draftedPositions + 1` tokens.
        public var draftedTokens: Int
        /// Candidate chains verified besides `drafts` (multi-draft): each extends a fork of the
        /// sequence's cache by the sequence's last token and the chain, in the same forward call.
        public var alternativeDrafts: [[Int32]]

        public init(sequence: Int, tokens: [Int32], samples: Bool, startsSequence: Bool, importedTokens: Int = 0, draftedTokens: Int = 0,
                    alternativeDrafts: [[Int32]] = []) {
            self.sequence = sequence; self.tokens = tokens; self.samples = samples; self.startsSequence = startsSequence
            self.importedTokens = importedTokens; self.draftedTokens = draftedTokens; self.alternativeDrafts = alternativeDrafts
        }

        /// The drafted tokens being verified.
        public var drafts: ArraySlice<Int32> { tokens.suffix(draftedTokens) }
        /// Every candidate chain, `drafts` first.
        public var candidateChains: [[Int32]] { draftedTokens > 0 ? [Array(drafts)] + alternativeDrafts : [] }
        /// Positions drafted: the longest chain's length.
        public var draftedPositions: Int { candidateChains.map(\.count).max() ?? 0 }
    }

    public var items: [Item] = []
    /// Sequences whose blocks were taken back this step (release their cache first); they wait
    /// to be recomputed.
    public var preempted: [Int] = []

    public var isEmpty: Bool { items.isEmpty }
    /// Tokens the forward call computes, alternative chains (and their repeated last token) included.
    public var tokenCount: Int { items.reduce(0) { $0 + $1.tokens.count + $1.alternativeDrafts.reduce(0) { $0 + 1 + $1.count } } }
}

/// What `update` reports back per sequence.
public enum DecodeEvent: Sendable, Equatable {
    /// A generated token (`index` counts generated tokens from 0, resumed ones included) and the
    /// text it completes. With `finish`, the sequence ended on this token and `text` includes the
    /// held-back tail.
    case token(sequence: Int, index: Int, token: Int32, text: String, finish: FinishReason?)
    /// Ended without a new token (cancelled, or a resumed sequence that had already finished).
    case finished(sequence: Int, reason: FinishReason, text: String)
}
