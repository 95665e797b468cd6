import TandemDiffusion
import XCTest

/// The interval arithmetic behind `tandem bench render --quality`.
final class ReadabilityStatisticsTests: XCTestCase {
    func testWilsonIntervalMatchesKnownValues() {
        // 315 of 360 (87.5 %): Wilson 95 % is 83.7 % … 90.5 %.
        let estimate = ProportionEstimate(successes: 315, trials: 360)
        XCTAssertEqual(estimate.value, 0.875, accuracy: 1e-12)
        XCTAssertEqual(estimate.interval95.lowerBound, 0.8366, accuracy: 5e-4)
        XCTAssertEqual(estimate.interval95.upperBound, 0.9051, accuracy: 5e-4)
        // All right: the interval stays inside [0, 1] and is not a point.
        let perfect = ProportionEstimate(successes: 50, trials: 50)
        XCTAssertEqual(perfect.interval95.upperBound, 1, accuracy: 1e-12)
        XCTAssertLessThan(perfect.interval95.lowerBound, 0.95)
    }

    func testPairedDifferenceUsesOnlyDiscordantItems() {
        // 100 items: both right on 80, only A on 6, only B on 2, both wrong on 12.
        let a = [Bool](repeating: true, count: 86) + [Bool](repeating: false, count: 14)
        let b = [Bool](repeating: true, count: 80) + [Bool](repeating: false, count: 6) + [true, true] + [Bool](repeating: false, count: 12)
        let paired = PairedProportionDifference(a, b)
        XCTAssertEqual(paired.onlyA, 6)
        XCTAssertEqual(paired.onlyB, 2)
        XCTAssertEqual(paired.difference, 0.04, accuracy: 1e-12)
        // half width 1.96 · sqrt(8 − 16/100) / 100
        XCTAssertEqual(paired.interval95.upperBound - paired.difference, 1.959964 * (8 - 0.16).squareRoot() / 100, accuracy: 1e-9)
        // Identical outcomes: no difference, zero width.
        XCTAssertEqual(PairedProportionDifference(a, a).interval95, 0...0)
    }
}
