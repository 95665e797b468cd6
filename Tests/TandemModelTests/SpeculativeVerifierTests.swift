@testable import TandemModel
import XCTest

/// The acceptance rules of speculative decoding. The statistical tests draw many seeded trials
/// from hand-built target (p) and draft (q) distributions and compare the accepted tokens'
/// frequencies with p by a chi-square test at significance α = 0.001 (the seeds are fixed, so a
/// pass is reproducible; a wrong rule — such as accepting every draft — fails by orders of
/// magnitude, as the negative controls show).
final class SpeculativeVerifierTests: XCTestCase {
    let p = TokenDistribution(probabilities: [0.35, 0.25, 0.2, 0.1, 0.06, 0.04])
    let q = TokenDistribution(probabilities: [0.1, 0.1, 0.4, 0.3, 0.05, 0.05])
    /// Chi-square critical values at α = 0.001 by degrees of freedom.
    let critical: [Int: Double] = [3: 16.266, 5: 20.515, 15: 37.697]
    let trials = 20_000

    /// The draft's own draws use streams the verifier never touches.
    func draw(_ d: TokenDistribution, seed: UInt64, position: Int, candidate: Int) -> Int32 {
        d.draw(CounterRNG.uniform(seed: seed, position: position, stream: 0x80 + UInt64(candidate)))
    }

    func chiSquare(_ counts: [Int], expected: [Double]) -> Double {
        let n = Double(counts.reduce(0, +))
        return zip(counts, expected).reduce(0) { sum, cell in
            let e = cell.1 * n
            return sum + (Double(cell.0) - e) * (Double(cell.0) - e) / e
        }
    }

    func dense(_ d: TokenDistribution, size: Int) -> [Double] { (0..<size).map { d.probability(of: Int32($0)) } }

    func testGreedyAcceptsTheLongestMatchingPrefixThenTheTargetsToken() {
        XCTAssertEqual(SpeculativeVerifier.greedy(drafts: [5, 6, 7], targetChoices: [5, 6, 7, 8]), [5, 6, 7, 8])
        XCTAssertEqual(SpeculativeVerifier.greedy(drafts: [5, 6, 7], targetChoices: [5, 9, 7, 8]), [5, 9])
        XCTAssertEqual(SpeculativeVerifier.greedy(drafts: [5, 6, 7], targetChoices: [1, 6, 7, 8]), [1])
        XCTAssertEqual(SpeculativeVerifier.greedy(drafts: [], targetChoices: [3]), [3])
    }

    func testGreedyOverCandidateChainsFollowsTheTargetAlongWhicheverChainMatches() {
        // The target's argmax after `accepted`: a path that only the second and third chains start on.
        let target: ([Int32]) -> Int32 = { [5, 6, 7, 8, 9][$0.count] }
        var asked: [[Int32]] = []
        let out = SpeculativeVerifier.greedy(candidates: [[1, 2], [5, 6, 4], [5, 6, 7]]) { asked.append($0); return target($0) }
        XCTAssertEqual(out, [5, 6, 7, 8])
        XCTAssertEqual(asked, [[], [5], [5, 6], [5, 6, 7]], "asked only for prefixes some chain shares")
        XCTAssertEqual(SpeculativeVerifier.greedy(candidates: [[1], [2]], choice: target), [5])
        XCTAssertEqual(SpeculativeVerifier.greedy(candidates: [], choice: target), [5])
    }

    func testTheRejectionRuleOnPointMassTargetsIsGreedyVerification() {
        for trial in 0..<500 {
            let seed = UInt64(trial)
            let drafts = (0..<4).map { draw(q, seed: seed, position: $0, candidate: 0) }
            let choices = (0..<5).map { j in Int32(CounterRNG.bits(seed: seed, position: 100 + j) % 6) }
            let rejection = SpeculativeVerifier.verify(drafts: drafts.map { DraftToken(token: $0, distribution: q) },
                                                       targets: choices.map { .pointMass($0) }, seed: seed, position: 10)
            XCTAssertEqual(rejection, SpeculativeVerifier.greedy(drafts: drafts, targetChoices: choices))
        }
    }

    /// The verifier's token counts over `trials` single drafts drawn from `draft` and verified as
    /// if drawn from `q`, the drafts' own counts, and how many were accepted.
    func outcomes(drawingFrom draft: TokenDistribution, verifyingWith q: TokenDistribution) -> (counts: [Int], drawn: [Int], accepted: Int) {
        var counts = [Int](repeating: 0, count: 6), drawn = [Int](repeating: 0, count: 6)
        var accepted = 0
        for trial in 0..<trials {
            let seed = UInt64(trial)
            let x = draw(draft, seed: seed, position: 7, candidate: 0)
            let (token, candidate) = SpeculativeVerifier.choose(among: [DraftToken(token: x, distribution: q)], target: p, seed: seed, position: 7)
            counts[Int(token)] += 1
            drawn[Int(x)] += 1
            if candidate != nil { accepted += 1 }
        }
        return (counts, drawn, accepted)
    }

    func testOneDraftFollowsTheTargetDistribution() {
        let (counts, drawn, accepted) = outcomes(drawingFrom: q, verifyingWith: q)
        XCTAssertLessThan(chiSquare(counts, expected: dense(p, size: 6)), critical[5]!)
        XCTAssertGreaterThan(chiSquare(drawn, expected: dense(p, size: 6)), critical[5]! * 10, "negative control: keeping every draft is not p")
        // Acceptance rate is Σ min(p, q) = 0.1 + 0.1 + 0.2 + 0.1 + 0.05 + 0.04 = 0.59.
        XCTAssertEqual(Double(accepted) / Double(trials), 0.59, accuracy: 0.02)
    }

    func testSeveralDraftsFollowTheTargetDistributionAndAcceptMore() {
        var counts = [Int](repeating: 0, count: 6)
        var accepted = 0
        for trial in 0..<trials {
            let seed = UInt64(trial)
            let candidates = (0..<3).map { DraftToken(token: draw(q, seed: seed, position: 7, candidate: $0), distribution: q) }
            let (token, candidate) = SpeculativeVerifier.choose(among: candidates, target: p, seed: seed, position: 7)
            counts[Int(token)] += 1
            if candidate != nil { accepted += 1 }
        }
        XCTAssertLessThan(chiSquare(counts, expected: dense(p, size: 6)), critical[5]!)
        XCTAssertGreaterThan(Double(accepted) / Double(trials), 0.59 + 0.1, "three i.i.d. drafts accept more often than one")
    }

    func testDistinctDeterministicCandidatesFollowTheTargetDistribution() {
        // Prompt lookup can propose several different continuations, each with all its mass.
        var counts = [Int](repeating: 0, count: 6)
        for trial in 0..<trials {
            let candidates: [DraftToken] = [.deterministic(2), .deterministic(3), .deterministic(5)]
            counts[Int(SpeculativeVerifier.choose(among: candidates, target: p, seed: UInt64(trial), position: 3).token)] += 1
        }
        XCTAssertLessThan(chiSquare(counts, expected: dense(p, size: 6)), critical[5]!)
    }

    // MARK: sequences

    /// A Markov target and draft over 4 tokens: the next token's distribution depends on the last.
    let markovP: [[Double]] = [[0.5, 0.2, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]]
    let markovQ: [[Double]] = [[0.3, 0.3, 0.2, 0.2], [0.1, 0.3, 0.5, 0.1], [0.4, 0.1, 0.1, 0.4], [0.6, 0.2, 0.1, 0.1]]

    func markov(_ table: [[Double]], after tokens: [Int32]) -> TokenDistribution { TokenDistribution(probabilities: table[Int(tokens.last!)]) }

    /// Generates `length` tokens after [0] by rounds of `drafts` candidate chains of `k` tokens, each
    /// drafted from q; returns the tokens and the mean tokens per round.
    func generate(length: Int, k: Int, drafts: Int, seed: UInt64) -> (tokens: [Int32], perRound: Double) {
        var sequence: [Int32] = [0]
        var rounds = 0
        while sequence.count < length + 1 {
            let candidates: [[DraftToken]] = (0..<drafts).map { c in
                var chain: [DraftToken] = [], context = sequence
                for _ in 0..<k {
                    let dq = markov(markovQ, after: context)
                    let x = draw(dq, seed: seed, position: context.count, candidate: c)
                    chain.append(DraftToken(token: x, distribution: dq))
                    context.append(x)
                }
                return chain
            }
            let base = sequence
            let out = SpeculativeVerifier.verify(candidates: candidates, seed: seed, position: sequence.count) { self.markov(self.markovP, after: base + $0) }
            sequence += out
            rounds += 1
        }
        return (Array(sequence[1...length]), Double(sequence.count - 1) / Double(rounds))
    }

    func jointCounts(k: Int, drafts: Int) -> (counts: [Int], perRound: Double) {
        var counts = [Int](repeating: 0, count: 16)
        var perRound = 0.0
        for trial in 0..<trials {
            let (tokens, mean) = generate(length: 2, k: k, drafts: drafts, seed: UInt64(trial))
            counts[Int(tokens[0]) * 4 + Int(tokens[1])] += 1
            perRound += mean
        }
        return (counts, perRound / Double(trials))
    }

    var jointP: [Double] {
        (0..<16).map { (cell: Int) -> Double in
            let first = cell / 4, second = cell % 4
            return markovP[0][first] * markovP[first][second]
        }
    }

    func testAChainOfDraftsFollowsTheTargetOverTwoTokens() {
        let (counts, _) = jointCounts(k: 3, drafts: 1)
        XCTAssertLessThan(chiSquare(counts, expected: jointP), critical[15]!)
    }

    func testSeveralCandidateChainsFollowTheTargetOverTwoTokens() {
        let (counts, _) = jointCounts(k: 3, drafts: 3)
        XCTAssertLessThan(chiSquare(counts, expected: jointP), critical[15]!)
    }

    func testDrawsAreKeyedBySeedAndPosition() {
        let drafts = [DraftToken(token: 2, distribution: q), DraftToken(token: 3, distribution: q)]
        let a = (0..<40).map { SpeculativeVerifier.verify(drafts: drafts, targets: [p, p, p], seed: 9, position: $0) }
        XCTAssertEqual(a, (0..<40).map { SpeculativeVerifier.verify(drafts: drafts, targets: [p, p, p], seed: 9, position: $0) })
        XCTAssertNotEqual(a, (0..<40).map { SpeculativeVerifier.verify(drafts: drafts, targets: [p, p, p], seed: 10, position: $0) })
    }

    func testResidualAndSamplerDistribution() {
        let r = p.residual(subtracting: q)!
        // max(0, p − q) = [0.25, 0.15, 0, 0, 0.01, 0] → normalized over 0.41.
        XCTAssertEqual(r.tokens, [0, 1, 4])
        XCTAssertEqual(r.probability(of: 0), 0.25 / 0.41, accuracy: 1e-9)
        XCTAssertNil(p.residual(subtracting: p))
        // The sampler draws from its distribution with the plain stream: same choice.
        let logits: [Float] = [1, 3, 2.5, -1, 0, 2.9]
        let params = SamplingParameters(temperature: 0.9, topP: 0.95, seed: 4)
        for position in 0..<100 {
            let d = Sampler.distribution(logits: logits, history: [], parameters: params)
            XCTAssertEqual(d.draw(CounterRNG.uniform(seed: 4, position: position)),
                           Sampler.sample(logits: logits, history: [], parameters: params, position: position))
        }
    }
}
