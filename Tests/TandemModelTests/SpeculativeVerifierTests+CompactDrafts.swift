@testable import TandemModel
import XCTest

/// Drafts drawn from a compacted distribution (`TokenDistribution.compactedForDrafts`: the tail cut
/// off, Float32 weights), as model drafters now draw and ship them.
extension SpeculativeVerifierTests {
    func testDraftsFromACompactedDistributionFollowTheTargetWhenTheVerifierUsesThatDistribution() {
        // q most likely first, as a sampler orders it; a hard cut (two tokens of six, 70 % of its
        // mass) to make any inexactness show.
        let ordered = TokenDistribution(tokens: [2, 3, 0, 1, 4, 5], weights: [0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
        for t in 0..<6 { XCTAssertEqual(ordered.probability(of: Int32(t)), q.probability(of: Int32(t)), accuracy: 1e-12) }
        let compact = ordered.compactedForDrafts(tailMass: 0.4, maxTokens: 2)
        XCTAssertEqual(compact.tokens, [2, 3])
        let exact = outcomes(drawingFrom: compact, verifyingWith: compact)
        XCTAssertLessThan(chiSquare(exact.counts, expected: dense(p, size: 6)), critical[5]!)
        // Σ min(p, q′) with q′ = (4/7, 3/7) on tokens 2 and 3: 0.2 + 0.1 = 0.3.
        XCTAssertEqual(Double(exact.accepted) / Double(trials), 0.3, accuracy: 0.02)
        let mismatched = outcomes(drawingFrom: compact, verifyingWith: q)
        XCTAssertGreaterThan(chiSquare(mismatched.counts, expected: dense(p, size: 6)), critical[5]! * 10,
                             "negative control: dividing by another q than the draws came from is not p")
    }
}
