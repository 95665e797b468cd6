import TandemModel
import XCTest

/// `TokenDistribution.compactedForDrafts`: what a sampled draft is drawn from and shipped as.
final class TokenDistributionTests: XCTestCase {
    /// A sampler-like distribution over 1000 tokens: most likely first, top weight 1, a long tail.
    let long = TokenDistribution(tokens: (0..<1000).map { Int32(999 - $0) }, weights: (0..<1000).map { exp(-0.02 * Double($0)) })

    func testKeepsTheMostLikelyTokensHoldingAllButTheTailMassWithFloat32Weights() {
        let compact = long.compactedForDrafts(tailMass: 1e-4, maxTokens: 1024)
        XCTAssertLessThan(compact.tokens.count, long.tokens.count)
        XCTAssertEqual(compact.tokens, Array(long.tokens.prefix(compact.tokens.count)), "a prefix, in order")
        let kept = long.weights.prefix(compact.tokens.count).reduce(0, +)
        XCTAssertGreaterThanOrEqual(kept, (1 - 1e-4) * long.total)
        XCTAssertLessThan(long.weights.prefix(compact.tokens.count - 1).reduce(0, +), (1 - 1e-4) * long.total, "the shortest such prefix")
        for (w, original) in zip(compact.weights, long.weights) {
            XCTAssertEqual(w, Double(Float(w)), "a Float32 value: the wire carries it exactly")
            XCTAssertEqual(w, original, accuracy: original * 1e-7)
        }
    }

    func testAtMostMaxTokensAndAPointMassStaysOne() {
        XCTAssertEqual(long.compactedForDrafts(tailMass: 1e-4, maxTokens: 10).tokens, Array(long.tokens.prefix(10)))
        XCTAssertEqual(TokenDistribution.pointMass(42).compactedForDrafts(), .pointMass(42))
        // Weights far below Float32's range are relative to the largest, so nothing rounds to zero that matters.
        let tiny = TokenDistribution(tokens: [3, 4], weights: [1e-60, 5e-61])
        XCTAssertEqual(tiny.compactedForDrafts(tailMass: 0, maxTokens: 8).weights, [1, 0.5])
        // Not ordered most likely first: tokens whose weight rounds to zero are skipped, never all.
        let unordered = TokenDistribution(tokens: [7, 8], weights: [1e-50, 1])
        XCTAssertEqual(unordered.compactedForDrafts(tailMass: 0.5, maxTokens: 1), .pointMass(8))
    }

    func testEveryDrawOfTheCompactDistributionIsOneOfItsTokens() {
        let compact = long.compactedForDrafts(tailMass: 0.01, maxTokens: 1024)
        let kept = Set(compact.tokens)
        for i in 0..<2000 {
            XCTAssertTrue(kept.contains(compact.draw(CounterRNG.uniform(seed: 5, position: i))))
        }
    }
}
