import TandemWire
import XCTest

final class MessageRoundTripTests: XCTestCase {
    func testEveryClientRequestRoundTrips() throws {
        for message in WireSamples.clientRequests {
            XCTAssertEqual(try ClientRequest(frames: message.frames), message)
        }
        XCTAssertEqual(Set(WireSamples.clientRequests.map(\.envelope.command)).count, ClientRequest.Command.allCases.count)
    }

    func testEveryClientReplyRoundTrips() throws {
        for message in WireSamples.clientReplies {
            XCTAssertEqual(try ClientReply(frames: message.frames), message)
        }
        XCTAssertEqual(Set(WireSamples.clientReplies.map(\.envelope.command)).count, ClientReply.Command.allCases.count)
    }

    func testEveryWorkerMessageRoundTrips() throws {
        for message in WireSamples.workerMessages {
            XCTAssertEqual(try WorkerMessage(frames: message.frames), message)
        }
        XCTAssertEqual(Set(WireSamples.workerMessages.map(\.envelope.command)).count, WorkerMessage.Command.allCases.count)
    }

    func testEveryRouterMessageRoundTrips() throws {
        for message in WireSamples.routerMessages {
            XCTAssertEqual(try RouterMessage(frames: message.frames), message)
        }
        XCTAssertEqual(Set(WireSamples.routerMessages.map(\.envelope.command)).count, RouterMessage.Command.allCases.count)
    }

    func testHeaderEncodingIsDeterministic() {
        let header: [String: WireValue] = ["b": .int(1), "a": .string("x"), "c": .map(["z": .null, "y": .bool(true)])]
        XCTAssertEqual(MessagePackCodec.encode(header), MessagePackCodec.encode(header))
        XCTAssertEqual(try MessagePackCodec.decode(MessagePackCodec.encode(header)), header)
    }
}
