/// Decides which drafted tokens a target model accepts: pure functions of the drafts, the
/// target's distributions and the position-keyed random numbers (no model, no cache).
///
/// - Greedy: the longest prefix of the drafts that matches the target's argmax, then the
///   target's own token, so the output is exactly what plain greedy decoding produces.
/// - Sampling: the speculative-sampling rejection rule (Leviathan et al. 2023; Chen et al. 2023):
///   draft token x drawn from q is accepted with probability min(1, p(x)/q(x)); on rejection the
///   token is drawn from norm(max(0, p − q)); after k accepted drafts a bonus token comes from p.
///   The output follows p exactly.
/// - Several drafts: recursive rejection sampling (SpecInfer's multi-round rule): candidates are
///   tried in turn, each against what the earlier rejections left (p₁ = p,
///   pᵢ₊₁ = norm(max(0, pᵢ − qᵢ))), and the token is drawn from the last residual when all fail.
///   Exact as long as candidate i was drawn from qᵢ independently of the verifier's coins (i.i.d.
///   samples of one draft model, or distinct deterministic tokens). Over candidate sequences the
///   rule runs position by position among the candidates that agree with everything accepted so
///   far (token-tree verification), which stays exact because a candidate's continuation depends
///   only on its own prefix.
///
/// Random numbers: the coin for candidate i at position n is `CounterRNG.uniform(seed, n, stream:
/// 1 + i)` and the residual draw `stream: residualStream`, where n is the index of the token being
/// decided in its sequence; a resumed sequence therefore draws the same numbers.
public enum SpeculativeVerifier {
    /// The stream of the draw from the residual (or from p when there is no candidate).
    public static let residualStream: UInt64 = 0x40
    /// Candidates per position at most (their coins use streams 1 ... maxCandidates).
    public static let maxCandidates = residualStream - 1

    /// Greedy verification: `targetChoices[j]` is the target's argmax after the sequence plus
    /// `drafts[0..<j]` (k + 1 entries for k drafts). Returns the accepted drafts followed by the
    /// target's token (1 to k + 1 tokens).
    public static func greedy(drafts: [Int32], targetChoices: [Int32]) -> [Int32] {
        precondition(targetChoices.count == drafts.count + 1, "greedy verification needs k + 1 target choices for k drafts")
        return greedy(candidates: [drafts]) { targetChoices[$0.count] }
    }

    /// Greedy verification over candidate chains: `choice(accepted)` is the target's argmax after
    /// the sequence plus the tokens accepted so far, asked only for prefixes some chain shares.
    /// The target's choices are accepted while some chain continues them, so the output is
    /// exactly plain greedy decoding's. Returns the accepted drafts and the target's next token.
    public static func greedy(candidates: [[Int32]], choice: ([Int32]) -> Int32) -> [Int32] {
        var accepted: [Int32] = []
        while true {
            accepted.append(choice(accepted))
            guard candidates.contains(where: { $0.starts(with: accepted) }) else { return accepted }
        }
    }

    /// One position among several candidates (possibly none): the chosen token and the index of
    /// the candidate accepted, or nil when the token came from the residual.
    public static func choose(among candidates: [DraftToken], target p: TokenDistribution, seed: UInt64, position: Int) -> (token: Int32, candidate: Int?) {
        precondition(candidates.count <= Int(maxCandidates), "at most \(maxCandidates) candidates per position")
        var residual = p
        for (i, candidate) in candidates.enumerated() {
            let q = candidate.distribution.probability(of: candidate.token)
            let ratio = q > 0 ? residual.probability(of: candidate.token) / q : 0
            if CounterRNG.uniform(seed: seed, position: position, stream: 1 + UInt64(i)) < ratio { return (candidate.token, i) }
            // p ≤ q everywhere only when the two are equal, and then the coin above cannot fail.
            guard let left = residual.residual(subtracting: candidate.distribution) else { return (candidate.token, i) }
            residual = left
        }
        return (residual.draw(CounterRNG.uniform(seed: seed, position: position, stream: residualStream)), nil)
    }

    /// A chain of k drafts under the rejection rule. `targets[j]` is the target's distribution after
    /// the sequence plus `drafts[0..<j]` (k + 1 entries); `position` is the index of the first
    /// token being decided. Returns 1 to k + 1 tokens.
    public static func verify(drafts: [DraftToken], targets: [TokenDistribution], seed: UInt64, position: Int) -> [Int32] {
        precondition(targets.count == drafts.count + 1, "verification needs k + 1 target distributions for k drafts")
        return verify(candidates: [drafts], seed: seed, position: position) { accepted in targets[accepted.count] }
    }

    /// Several candidate sequences (token-tree verification). `target(accepted)` is the target's
    /// distribution after the sequence plus the tokens accepted so far; it is asked only for
    /// prefixes some candidate shares. Returns the accepted tokens and the one drawn after them.
    public static func verify(candidates: [[DraftToken]], seed: UInt64, position: Int,
                              target: ([Int32]) -> TokenDistribution) -> [Int32] {
        var accepted: [Int32] = []
        var alive = Array(candidates.indices)
        while true {
            let depth = accepted.count
            alive = alive.filter { candidates[$0].count > depth }
            let (token, chosen) = choose(among: alive.map { candidates[$0][depth] }, target: target(accepted),
                                         seed: seed, position: position + depth)
            accepted.append(token)
            guard chosen != nil else { return accepted }
            alive = alive.filter { candidates[$0][depth].token == token }
        }
    }
}
