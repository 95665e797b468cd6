import XCTest
@testable import TandemRouter

final class ThroughputMeterTests: XCTestCase {
    func testRateOverFullSecondsOnly() {
        var meter = ThroughputMeter()
        for _ in 0..<90 { meter.record(atSecond: 100) }
        for _ in 0..<50 { meter.record(atSecond: 101) }
        // At second 101 only second 100 is complete: 90 jobs over the 9 full seconds of the window.
        XCTAssertEqual(meter.perSecond(atSecond: 101), 10, accuracy: 1e-9)
        // Twenty seconds later everything has slid out.
        XCTAssertEqual(meter.perSecond(atSecond: 121), 0)
    }
}
