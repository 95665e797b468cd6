import Foundation
import TandemDiffusion
import XCTest

final class PNGCodecTests: XCTestCase {
    func testRoundTripThroughLibpng() throws {
        var random = TestRandom(seed: 9)
        let pixels = (0..<(5 * 3 * 3)).map { _ in UInt8(truncatingIfNeeded: Int((random.next() + 1) * 127)) }
        let image = RGBImage(width: 5, height: 3, pixels: pixels)
        let data = try PNGCodec.encode(image)
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(try PNGCodec.decode(data), image)
    }

    func testRejectsGarbage() {
        XCTAssertThrowsError(try PNGCodec.decode(Data("not a png".utf8)))
        XCTAssertThrowsError(try PNGCodec.decode(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0])))
    }

    func testSampleToPixelsAndLayout() {
        // CHW in [−1, 1] → interleaved RGB, clamped.
        let sample: [Float] = [-1, 1, /* G */ 0, 2, /* B */ 1, -3]
        let image = RGBImage(sample: sample, width: 2, height: 1)
        XCTAssertEqual(image.pixels, [0, 128, 255, 255, 255, 0])
        let row = RGBImage.row([image, image], gap: 1)
        XCTAssertEqual(row.width, 5)
        XCTAssertEqual(Array(row.pixels[6..<9]), [255, 255, 255])  // the gap is white
        XCTAssertEqual(image.scaled(by: 2).width, 4)
        XCTAssertEqual(Array(image.scaled(by: 2).pixels[0..<6]), [0, 128, 255, 0, 128, 255])
    }
}
