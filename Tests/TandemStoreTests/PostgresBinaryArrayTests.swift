import Foundation
@testable import TandemStore
import XCTest

/// The binary array layout `array_recv` expects; needs no database.
final class PostgresBinaryArrayTests: XCTestCase {
    func testHeaderAndElements() {
        var array = PostgresBinaryArray(.text)
        array.appendText("ab")
        array.appendNull()
        array.appendText("x\u{0}y")
        XCTAssertEqual(array.finished(), [
            0, 0, 0, 1,  // one dimension
            0, 0, 0, 1,  // has NULLs
            0, 0, 0, 25,  // text
            0, 0, 0, 3, 0, 0, 0, 1,  // three elements, lower bound 1
            0, 0, 0, 2, 0x61, 0x62,
            0xff, 0xff, 0xff, 0xff,  // NULL
            0, 0, 0, 5, 0x78, 0xEF, 0xBF, 0xBD, 0x79,  // NUL became U+FFFD
        ])
    }

    func testIntegersAndUUIDsAreBigEndian() {
        var numbers = PostgresBinaryArray(.int8)
        numbers.appendInt8(258)
        XCTAssertEqual(Array(numbers.finished().suffix(12)), [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2])
        var ids = PostgresBinaryArray(.uuid)
        let id = UUID(uuidString: "00112233-4455-6677-8899-AABBCCDDEEFF")!
        ids.appendUUID(id)
        XCTAssertEqual(Array(ids.finished().suffix(16)), [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        XCTAssertEqual(Array(ids.finished()[4..<8]), [0, 0, 0, 0], "no NULLs")
    }
}
