/// One sequence's request for drafts: its tokens so far and how many to propose.
public struct DraftRequest: Sendable, Equatable {
    public var sequence: Int
    /// The prompt and every accepted token. A drafter with per-sequence state keeps what still
    /// matches this and computes only the rest (the tokens accepted since its last round).
    public var context: [Int32]
    public var count: Int
    /// The target's sampling: a drafter samples its proposals the same way (greedy when greedy).
    public var sampling: SamplingParameters
    /// Whether a drafter that can may draft the next round ahead, assuming these drafts will all
    /// be accepted (parallel drafting; only the draft service does).
    public var draftAhead: Bool
    /// Candidate chains wanted (multi-draft; `Drafter.proposeCandidates`).
    public var candidates: Int

    public init(sequence: Int, context: [Int32], count: Int, sampling: SamplingParameters, draftAhead: Bool = false, candidates: Int = 1) {
        precondition(candidates >= 1)
        self.sequence = sequence; self.context = context; self.count = count; self.sampling = sampling; self.draftAhead = draftAhead
        self.candidates = candidates
    }
}
