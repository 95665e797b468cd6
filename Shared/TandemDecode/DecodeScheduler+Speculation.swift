extension DecodeScheduler {
    /// The sequences that should bring drafts to the next `schedule` and how many tokens each:
    /// running speculating sequences that are decoding (one new token, nothing to prefill), while
    /// the batch is no larger than the policy allows. Ask the drafter for these, then call
    /// `schedule(proposals:)`.
    public func draftRequests() -> [Int: Int] {
        var out: [Int: Int] = [:]
        for id in running {
            let s = sequences[id]!
            guard s.computedTokens > 0, s.tokens.count - s.computedTokens == 1, let allowed = draftAllowance(for: s) else { continue }
            out[id] = allowed
        }
        return out
    }

    /// Whether anyone may speculate with this many sequences running.
    public var speculationIsOn: Bool { running.count <= configuration.speculation.maxBatchToSpeculate }

    /// How many drafts the sequence may verify now (nil: none): its fixed or adaptive length,
    /// capped so that no draft goes past `maxTokens` or the context.
    func draftAllowance(for s: DecodeSequence) -> Int? {
        guard let settings = s.speculation, speculationIsOn, s.generatedCount >= s.draftPauseUntil else { return nil }
        let policy = configuration.speculation
        var wanted: Int
        if let fixed = settings.draftTokens {
            wanted = fixed
        } else {
            wanted = policy.adaptiveDraftLength(acceptanceByPosition: policy.acceptanceByPosition(accepted: s.recentAccepted, tried: s.recentTried))
            if wanted == 0 && policy.probes(atGenerated: s.generatedCount) { wanted = 1 }
        }
        // The step appends up to drafts + 1 tokens; past maxTokens or the context they are wasted.
        let room = min(s.maxTokens - s.generatedCount, configuration.contextTokens - s.tokens.count) - 1
        let k = min(wanted, room)
        return k > 0 ? k : nil
    }

    /// Generated tokens a sequence waits before asking for drafts again after this many empty
    /// answers in a row: 1, 2, 4, 8, then 16 (a drafter that finds nothing, such as prompt lookup
    /// in a chat, costs a round trip per ask when it is a draft worker).
    static func draftPause(afterEmptyAnswers n: Int) -> Int { 1 << min(n - 1, 4) }

    static func recordDraftAnswer(of s: inout DecodeSequence, empty: Bool) {
        guard empty else { s.emptyDraftAnswers = 0; return }
        s.emptyDraftAnswers += 1
        s.draftPauseUntil = s.generatedCount + draftPause(afterEmptyAnswers: s.emptyDraftAnswers)
    }

    /// Weight of the previous steps' counts in the acceptance estimate, per step.
    static var acceptanceDecay: Double { 0.9 }

    static func recordVerification(of s: inout DecodeSequence, drafted: Int, accepted: Int) {
        s.verifications += 1
        s.draftedTokens += drafted
        s.acceptedDraftTokens += accepted
        // Draft i is tried when every one before it was accepted.
        let tried = accepted < drafted ? accepted + 1 : accepted
        if s.recentTried.count < drafted {
            s.recentTried += Array(repeating: 0, count: drafted - s.recentTried.count)
            s.recentAccepted += Array(repeating: 0, count: drafted - s.recentAccepted.count)
        }
        for i in s.recentTried.indices {
            s.recentTried[i] = s.recentTried[i] * acceptanceDecay + (i < tried ? 1 : 0)
            s.recentAccepted[i] = s.recentAccepted[i] * acceptanceDecay + (i < accepted ? 1 : 0)
        }
    }
}
