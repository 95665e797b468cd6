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
    /// The cost of one more token in a sequence's part of a forward call, relative to a plain
    /// decoding step: what a drafted token must earn back (measured with `tandem bench model`'s
    /// step table: docs/generate.md, "Draft length").
    public var draftTokenCost: Double
    /// Acceptance assumed at the first draft position before a sequence has been measured, and
    /// the weight (in drafts tried) of each position's assumption.
    public var priorAcceptance: Double
    public var priorWeight: Double
    /// While no draft length pays, a sequence still drafts one token now and then, so that a change
    /// in its text is noticed: after this many generated tokens, then twice as many, and so on up
    /// to `maxProbeInterval` apart.
    public var probeInterval: Int
    public var maxProbeInterval: Int

    public init(maxDraftTokens: Int = 16, maxBatchToSpeculate: Int = 2, draftTokenCost: Double = 0.33,
                priorAcceptance: Double = 0.6, priorWeight: Double = 1, probeInterval: Int = 16, maxProbeInterval: Int = 256) {
        precondition(maxDraftTokens >= 1 && maxBatchToSpeculate >= 0 && draftTokenCost >= 0 && probeInterval >= 1 && maxProbeInterval >= probeInterval)
        self.maxDraftTokens = maxDraftTokens; self.maxBatchToSpeculate = maxBatchToSpeculate
        self.draftTokenCost = draftTokenCost; self.priorAcceptance = priorAcceptance; self.priorWeight = priorWeight
        self.probeInterval = probeInterval; self.maxProbeInterval = maxProbeInterval
    }

    /// Whether a sequence that has generated `generated` tokens, and for which no draft length
    /// pays, drafts one token now: at `probeInterval`, 2·`probeInterval`, 4·… generated tokens,
    /// then every `maxProbeInterval`.
    public func probes(atGenerated generated: Int) -> Bool {
        guard generated > 0, generated % probeInterval == 0 else { return false }
        let n = generated / probeInterval
        return n & (n - 1) == 0 || generated % maxProbeInterval == 0
    }

    /// The draft length that maximizes expected tokens per unit of cost,
    /// (1 + Σᵢ₌₁ᵏ Πⱼ₌₁ⁱ hⱼ) / (1 + c·k), where hⱼ is the chance that draft j is accepted once every
    /// draft before it was (positions past the end of `h` take its last value); 0 when no length
    /// beats plain decoding.
    ///
    /// The chances are per position because drafts are not independent: a prompt-lookup draft
    /// that survives its first tokens is copying a passage and likely to survive many more, so
    /// one overall rate would cut grounded drafts far too short.
    public func adaptiveDraftLength(acceptanceByPosition h: [Double]) -> Int {
        var best = 0, bestRate = 1.0
        var expected = 1.0, survival = 1.0
        for k in 1...maxDraftTokens {
            survival *= min(max(h.isEmpty ? priorAcceptance : h[min(k, h.count) - 1], 0), 1)
            expected += survival
            let rate = expected / (1 + draftTokenCost * Double(k))
            if rate > bestRate { best = k; bestRate = rate }
        }
        return best
    }

    /// The same for one acceptance rate at every position.
    public func adaptiveDraftLength(acceptance alpha: Double) -> Int {
        adaptiveDraftLength(acceptanceByPosition: [alpha])
    }

    /// Each position's acceptance from a sequence's (decayed) counts: accepted over tried, with
    /// the previous position's estimate as the prior (the first's is `priorAcceptance`), so a
    /// position never tried yet is assumed as good as the one before it.
    public func acceptanceByPosition(accepted: [Double], tried: [Double]) -> [Double] {
        var out: [Double] = []
        var prior = priorAcceptance
        for i in 0..<maxDraftTokens {
            let a = i < accepted.count ? accepted[i] : 0, t = i < tried.count ? tried[i] : 0
            prior = (a + prior * priorWeight) / (t + priorWeight)
            out.append(prior)
        }
        return out
    }
}
