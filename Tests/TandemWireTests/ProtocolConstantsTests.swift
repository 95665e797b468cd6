import TandemWire
import XCTest

final class ProtocolConstantsTests: XCTestCase {
    func testVersionTagIsSixASCIIBytes() {
        XCTAssertEqual(ProtocolConstants.versionTag, Array("TNDM01".utf8))
    }
}
