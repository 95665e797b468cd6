/// What speculation did for one generation (or a whole engine): verification steps, drafted and
/// accepted tokens.
public struct SpeculationStats: Codable, Sendable, Equatable {
    /// Steps that verified at least one draft.
    public var verifications = 0
    public var draftedTokens = 0
    public var acceptedTokens = 0
    /// Drafting rounds a draft worker answered (nil: the decode worker has no draft service).
    public var remoteRounds: Int?
    /// Of those, rounds answered with drafts made ahead (parallel drafting).
    public var predraftedRounds: Int?
    /// Time this sequence's steps waited for those answers, in milliseconds.
    public var remoteWaitMilliseconds: Double?
    /// Drafting rounds nobody could serve: no draft worker offering the method answered and the
    /// decode worker cannot draft it itself, so those steps decoded plainly (nil: no draft service).
    public var undraftedRounds: Int?

    enum CodingKeys: String, CodingKey {
        case verifications, draftedTokens = "drafted_tokens", acceptedTokens = "accepted_tokens", remoteRounds = "remote_rounds"
        case predraftedRounds = "predrafted_rounds", remoteWaitMilliseconds = "remote_wait_ms", undraftedRounds = "undrafted_rounds"
    }

    public init(verifications: Int = 0, draftedTokens: Int = 0, acceptedTokens: Int = 0) {
        self.verifications = verifications; self.draftedTokens = draftedTokens; self.acceptedTokens = acceptedTokens
    }

    /// Accepted over drafted tokens.
    public var acceptanceRate: Double { draftedTokens > 0 ? Double(acceptedTokens) / Double(draftedTokens) : 0 }
    /// Tokens a verification step produced on average: the accepted drafts plus the target's own.
    public var tokensPerVerification: Double { verifications > 0 ? Double(acceptedTokens + verifications) / Double(verifications) : 0 }

    mutating func add(drafted: Int, accepted: Int) {
        verifications += 1
        draftedTokens += drafted
        acceptedTokens += accepted
    }
}
