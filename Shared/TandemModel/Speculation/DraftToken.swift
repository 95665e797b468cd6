/// One drafted token and the distribution the draft drew it from.
///
/// A deterministic draft (prompt lookup, or a greedy draft model) proposes with all its mass on
/// the token: `TokenDistribution.pointMass`. The rejection rule needs the distribution, not just
/// the token, for the target distribution to come out exact.
public struct DraftToken: Sendable, Equatable {
    public var token: Int32
    public var distribution: TokenDistribution

    public init(token: Int32, distribution: TokenDistribution) { self.token = token; self.distribution = distribution }

    public static func deterministic(_ token: Int32) -> DraftToken { DraftToken(token: token, distribution: .pointMass(token)) }
}
