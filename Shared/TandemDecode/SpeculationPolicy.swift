/// When the decode scheduler lets sequences speculate and how many tokens each drafts: pure
/// functions of the batch size and a sequence's measured acceptance.
///
/// Verifying k drafts appends k tokens to the sequence's part of the batched forward call. While
/// the batch is small, a forward call costs about the same whatever its token count (it is bound
/// by reading the weights once), so drafts are nearly free; once the batch is large the call is
/// bound by arithmetic and every rejected draft costs as much as a real token. Past
/// `maxBatchToSpeculate` running sequences nobody speculates (the threshold is measured:
/// docs/generate.md, "Speculative decoding").
public struct SpeculationPolicy: Sendable, Equatable {
    /// Drafted tokens per sequence and step at most.
    public var maxDraftTokens: Int
    /// Running sequences above which speculation is off for everyone.
    public var maxBatchToSpeculate: Int
    /// The cost of one more token in a sequence's part of a forward call, relative to the cost of
    /// the whole step for it: what a drafted token must earn back.
    public var draftTokenCost: Double
    /// Acceptance assumed before a sequence has been measured, and the weight (in drafted tokens)
    /// of that assumption.
    public var priorAcceptance: Double
    public var priorWeight: Double

    public init(maxDraftTokens: Int = 8, maxBatchToSpeculate: Int = 2, draftTokenCost: Double = 0.08,
                priorAcceptance: Double = 0.6, priorWeight: Double = 4) {
        precondition(maxDraftTokens >= 1 && maxBatchToSpeculate >= 0 && draftTokenCost >= 0)
        self.maxDraftTokens = maxDraftTokens; self.maxBatchToSpeculate = maxBatchToSpeculate
        self.draftTokenCost = draftTokenCost; self.priorAcceptance = priorAcceptance; self.priorWeight = priorWeight
    }

    /// The draft length that maximizes expected tokens per unit of cost, (1 − αᵏ⁺¹)/(1 − α) over
    /// (1 + c·k), for acceptance α — at least 1, so acceptance keeps being measured.
    public func adaptiveDraftLength(acceptance alpha: Double) -> Int {
        let a = min(max(alpha, 0), 0.999)
        var best = 1, bestRate = 0.0
        var power = a  // αᵏ⁺¹ for k = 0 ... as k grows
        for k in 1...maxDraftTokens {
            power *= a
            let rate = (1 - power) / (1 - a) / (1 + draftTokenCost * Double(k))
            if rate > bestRate { best = k; bestRate = rate }
        }
        return best
    }

    /// The acceptance estimate from a sequence's counts: accepted drafts over drafts tried, with the prior.
    public func acceptance(accepted: Double, tried: Double) -> Double {
        (accepted + priorAcceptance * priorWeight) / (tried + priorWeight)
    }
}
