import TandemModel

/// How one sequence speculates: the draft method and how many tokens to draft per step.
public struct SpeculationSettings: Sendable, Equatable {
    public var method: DraftMethod
    /// Tokens drafted per step; nil: adapted to the sequence's measured acceptance rate.
    public var draftTokens: Int?
    /// Candidate drafts per position (1: a single chain).
    public var drafts: Int
    /// Whether a draft worker may draft the next round ahead during verification (PEARL).
    public var draftAhead: Bool

    public init(method: DraftMethod, draftTokens: Int? = nil, drafts: Int = 1, draftAhead: Bool = false) {
        precondition(draftTokens.map { $0 >= 1 } ?? true && drafts >= 1)
        self.method = method; self.draftTokens = draftTokens; self.drafts = drafts; self.draftAhead = draftAhead
    }
}
