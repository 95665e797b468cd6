import TandemTransport
import XCTest

/// `ZMQSocket.send(_:filling:_:)` writes bulk frames straight into ZeroMQ's buffers: the peer
/// must receive exactly the frames an ordinary send would give it, and a failing fill must send
/// nothing (a half-sent multipart message would glue itself to the next one).
final class ZMQFilledSendTests: XCTestCase {
    struct FillFailed: Error {}

    func testFilledFramesArriveAfterTheOrdinaryOnes() throws {
        let context = ZMQContext()
        let receiver = try ZMQSocket(context: context, kind: .pair)
        let sender = try ZMQSocket(context: context, kind: .pair)
        defer { sender.close(); receiver.close() }
        let endpoint = try receiver.bind("inproc://filled-send")
        try sender.connect(endpoint)

        let sizes = [3, 0, 70_000]
        try sender.send([[1, 2], [3]], filling: sizes) { index, buffer in
            for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i &* 7 &+ index) }
        }
        let expected: [[UInt8]] = [[1, 2], [3]] + sizes.enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
        }
        guard case .frames(let frames)? = try receiver.receive(wait: true) else { return XCTFail("no message") }
        XCTAssertEqual(frames, expected)

        XCTAssertThrowsError(try sender.send([[9]], filling: [8, 8]) { index, _ in if index == 1 { throw FillFailed() } })
        try sender.send([[4]])
        guard case .frames(let next)? = try receiver.receive(wait: true) else { return XCTFail("no message") }
        XCTAssertEqual(next, [[4]], "the failed send left nothing on the wire")
    }
}
