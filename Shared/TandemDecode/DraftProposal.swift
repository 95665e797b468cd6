import TandemModel

/// DRAFT_PROPOSAL: the drafts for one request.
public struct DraftProposal: Sendable, Equatable {
    public var sequence: Int64
    public var round: Int64
    public var drafts: [DraftToken]
    /// Further candidate chains (multi-draft), each verified beside `drafts`.
    public var alternatives: [[DraftToken]]
    /// Drafted before the request arrived, assuming every earlier draft would be accepted (PEARL).
    public var predrafted: Bool

    public init(sequence: Int64, round: Int64, drafts: [DraftToken], alternatives: [[DraftToken]] = [], predrafted: Bool = false) {
        self.sequence = sequence; self.round = round; self.drafts = drafts; self.alternatives = alternatives; self.predrafted = predrafted
    }

    /// Every chain, `drafts` first.
    public var chains: [[DraftToken]] { [drafts] + alternatives }
}
