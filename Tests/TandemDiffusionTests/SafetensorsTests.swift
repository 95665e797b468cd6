import Foundation
import TandemDiffusion
import XCTest

final class SafetensorsTests: XCTestCase {
    func testRoundTrip() throws {
        let data = SafetensorsFile.encode(["a": ([2, 3], [1, 2, 3, 4, 5, 6]), "b.c": ([1], [-0.5])])
        let file = try SafetensorsFile(data: data)
        XCTAssertEqual(file.names, ["a", "b.c"])
        XCTAssertEqual(try file.tensor("a", shape: [2, 3]), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try file.tensor("b.c").values, [-0.5])
        XCTAssertThrowsError(try file.tensor("a", shape: [3, 2])) {
            XCTAssertEqual($0 as? SafetensorsError, .shapeMismatch(name: "a", expected: [3, 2], found: [2, 3]))
        }
        XCTAssertThrowsError(try file.tensor("missing")) { XCTAssertEqual($0 as? SafetensorsError, .missingTensor("missing")) }
    }

    func testHalfPrecisionAndBFloat16() throws {
        let header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}"#
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(contentsOf: [0x00, 0x3C, 0x00, 0xC0])  // 1.0, -2.0 in F16
        data.append(contentsOf: [0x40, 0x40])              // 3.0 in BF16
        let file = try SafetensorsFile(data: data)
        XCTAssertEqual(try file.tensor("h").values, [1, -2])
        XCTAssertEqual(try file.tensor("b").values, [3])
    }

    func testRejectsTruncatedAndInconsistentFiles() {
        XCTAssertThrowsError(try SafetensorsFile(data: Data([1, 2, 3])))
        var huge = Data([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]); huge.append(Data("{}".utf8))
        XCTAssertThrowsError(try SafetensorsFile(data: huge))
        let valid = SafetensorsFile.encode(["a": ([4], [1, 2, 3, 4])])
        XCTAssertThrowsError(try SafetensorsFile(data: valid.dropLast(4)))  // data shorter than offsets
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        var bad = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bad.append(contentsOf: $0) }
        bad.append(Data(header.utf8)); bad.append(Data(count: 8))
        XCTAssertThrowsError(try SafetensorsFile(data: bad))  // 8 bytes for 3 floats
    }
}
