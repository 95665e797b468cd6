import TandemModel

/// DRAFT_REQUEST: drafts wanted for one sequence of a decode worker.
public struct DraftWireRequest: Sendable, Equatable {
    /// The decode worker's sequence id (unique per decode worker connection).
    public var sequence: Int64
    /// Numbers the sequence's requests, so a late answer to an earlier one is recognised.
    public var round: Int64
    public var method: DraftMethod
    /// Context tokens the draft worker must already hold for the sequence (0: none, start over).
    public var keep: Int
    public var count: Int
    /// Accepted tokens after the first `keep` (the whole context when `keep` is 0).
    public var tokens: [Int32]
    public var sampling: SamplingParameters
    /// The draft worker may draft the next round ahead (PEARL).
    public var ahead: Bool
    /// Candidate chains wanted (multi-draft).
    public var candidates: Int

    public init(sequence: Int64, round: Int64, method: DraftMethod, keep: Int, count: Int, tokens: [Int32], sampling: SamplingParameters,
                ahead: Bool = false, candidates: Int = 1) {
        self.sequence = sequence; self.round = round; self.method = method; self.keep = keep; self.count = count
        self.tokens = tokens; self.sampling = sampling; self.ahead = ahead; self.candidates = candidates
    }
}
