import Foundation
import XCTest
@testable import TandemRouter

final class JobIdGeneratorTests: XCTestCase {
    func testVersionSevenLayoutAndTimeOrder() {
        var generator = JobIdGenerator(seed: 1)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let ids = (0..<1000).map { generator.next(now: start.addingTimeInterval(Double($0) / 100)) }
        for id in ids {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            XCTAssertEqual(bytes[6] >> 4, 7, "version 7")
            XCTAssertEqual(bytes[8] >> 6, 0b10, "RFC 9562 variant")
            let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            XCTAssertGreaterThanOrEqual(milliseconds, 1_800_000_000_000)
        }
        // Ids of later milliseconds sort after earlier ones, as text and as bytes.
        let byTime = stride(from: 0, to: 1000, by: 10).map { ids[$0] }
        XCTAssertEqual(byTime.map(\.uuidString), byTime.map(\.uuidString).sorted())
    }

    func testUniqueWithinOneMillisecond() {
        var generator = JobIdGenerator()
        let now = Date()
        XCTAssertEqual(Set((0..<100_000).map { _ in generator.next(now: now) }).count, 100_000)
    }
}
