/// The distribution a sampler draws from after penalties, top-k, temperature, top-p and min-p:
/// the surviving tokens, most likely first, with unnormalized weights.
///
/// Speculative verification compares a target distribution with a draft's, so the sampler's
/// chain is exposed as a value instead of being folded into one draw. The weights are kept
/// unnormalized (with their `total`) so that `draw` makes exactly the choice `Sampler.sample`
/// made before this type existed, bit for bit.
public struct TokenDistribution: Sendable, Equatable {
    /// Candidate tokens, most likely first.
    public private(set) var tokens: [Int32]
    /// Unnormalized weights, parallel to `tokens` (non-negative).
    public private(set) var weights: [Double]
    public private(set) var total: Double

    public init(tokens: [Int32], weights: [Double]) {
        precondition(tokens.count == weights.count && !tokens.isEmpty, "a distribution needs one weight per token")
        self.tokens = tokens; self.weights = weights
        total = weights.reduce(0, +)
    }

    /// All mass on one token (a deterministic draft such as prompt lookup, or greedy decoding).
    public static func pointMass(_ token: Int32) -> TokenDistribution { TokenDistribution(tokens: [token], weights: [1]) }

    /// A dense probability vector over token ids (zeros are dropped).
    public init(probabilities: [Double]) {
        var tokens: [Int32] = [], weights: [Double] = []
        for (i, p) in probabilities.enumerated() where p > 0 { tokens.append(Int32(i)); weights.append(p) }
        self.init(tokens: tokens, weights: weights)
    }

    /// The distribution a sampled draft is drawn from and shipped as: the most likely tokens that
    /// hold `1 − tailMass` of the mass (at most `maxTokens` of them), with weights rounded to
    /// Float32, as DRAFT_PROPOSAL carries them (docs/generate.md, "The draft service").
    ///
    /// Why this is still exact: the rejection rule yields the target distribution for any draft
    /// distribution q, provided the draft is drawn from the very q the verifier divides by. A
    /// drafter that draws from this value and ships it whole meets that on both sides of the
    /// wire; the cut tail only costs acceptance (at most `tailMass` per draft). Expects the most
    /// likely tokens first, as `Sampler.distribution` orders them; a point mass stays one.
    public func compactedForDrafts(tailMass: Double = 1e-4, maxTokens: Int = 1024) -> TokenDistribution {
        precondition(maxTokens >= 1 && tailMass >= 0 && tailMass < 1, "keep at least one token and less than all the mass away")
        // Relative to the largest weight (1 already for a sampler's), so the top one survives rounding.
        guard let largest = weights.max(), largest > 0 else { return self }
        let enough = (1 - tailMass) * total
        var kept: [Int32] = [], keptWeights: [Double] = []
        var mass = 0.0
        for (i, w) in weights.enumerated() where kept.count < maxTokens && mass < enough {
            mass += w
            let rounded = Double(Float(w / largest))
            if rounded > 0 { kept.append(tokens[i]); keptWeights.append(rounded) }
        }
        // Never empty: the largest weight (rounded: 1) is kept unless the zeros before it, each
        // below 1.5e-45 of it, already held 1 − tailMass of the mass.
        return TokenDistribution(tokens: kept, weights: keptWeights)
    }

    /// The token whose cumulative weight first exceeds `u · total` (`u` uniform in [0, 1)).
    public func draw(_ u: Double) -> Int32 {
        let target = u * total
        var acc = 0.0
        for (i, w) in weights.enumerated() {
            acc += w
            if target < acc { return tokens[i] }
        }
        return tokens[tokens.count - 1]
    }

    /// Normalized probabilities by token id.
    public var probabilities: [Int32: Double] {
        var map: [Int32: Double] = [:]
        map.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() { map[t, default: 0] += weights[i] / total }
        return map
    }

    public func probability(of token: Int32) -> Double {
        var sum = 0.0
        for (i, t) in tokens.enumerated() where t == token { sum += weights[i] }
        return sum / total
    }

    /// norm(max(0, self − other)): what a rejected draft leaves to draw from (the residual of
    /// speculative sampling). Nil when nothing is left, which happens only when the two are equal.
    public func residual(subtracting other: TokenDistribution) -> TokenDistribution? {
        let q = other.probabilities
        var left: [Int32] = [], leftWeights: [Double] = []
        for (i, t) in tokens.enumerated() {
            let w = weights[i] / total - (q[t] ?? 0)
            if w > 0 { left.append(t); leftWeights.append(w) }
        }
        return left.isEmpty ? nil : TokenDistribution(tokens: left, weights: leftWeights)
    }
}
