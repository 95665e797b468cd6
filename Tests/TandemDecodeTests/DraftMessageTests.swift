import TandemDecode
import TandemModel
import TandemWire
import XCTest

/// The decode ⇄ draft data-plane messages: every command round-trips, and malformed frames are
/// refused with a typed `WireError`.
final class DraftMessageTests: XCTestCase {
    let sampled = SamplingParameters(temperature: 0.7, topK: 40, seed: 9)

    func testEveryCommandRoundTrips() throws {
        let messages: [DraftMessage] = [
            .request(DraftWireRequest(sequence: 7, round: 3, method: .earlyExit, keep: 120, count: 5, tokens: [1, -2, 49151], sampling: sampled)),
            .request(DraftWireRequest(sequence: 0, round: 1, method: .lookup, keep: 0, count: 16, tokens: [5], sampling: .greedy, ahead: false)),
            .proposal(DraftProposal(sequence: 7, round: 3, drafts: [.deterministic(4), .deterministic(9)])),
            .proposal(DraftProposal(sequence: 7, round: 4, drafts: [
                DraftToken(token: 4, distribution: TokenDistribution(tokens: [4, 8], weights: [0.75, 0.25])),
                DraftToken(token: 8, distribution: TokenDistribution(tokens: [8], weights: [2])),
            ], predrafted: true)),
            .proposal(DraftProposal(sequence: 1, round: 1, drafts: [])),
            .request(DraftWireRequest(sequence: 2, round: 1, method: .earlyExit, keep: 3, count: 4, tokens: [1], sampling: sampled, candidates: 3)),
            .proposal(DraftProposal(sequence: 2, round: 1, drafts: [.deterministic(4), .deterministic(9)],
                                    alternatives: [[.deterministic(5)], [.deterministic(6), .deterministic(7), .deterministic(8)]])),
            .proposal(DraftProposal(sequence: 2, round: 2, drafts: [DraftToken(token: 4, distribution: TokenDistribution(tokens: [4, 8], weights: [0.75, 0.25]))],
                                    alternatives: [[DraftToken(token: 8, distribution: TokenDistribution(tokens: [4, 8], weights: [0.75, 0.25]))]])),
            .close(sequences: [1, 2, 99]),
            .error(DraftFailure(code: DraftFailure.unknownSequence, message: "send it from 0", sequence: 7, round: 3)),
            .error(DraftFailure(code: "bad_frame", message: "what")),
        ]
        for message in messages {
            XCTAssertEqual(try DraftMessage(frames: message.frames), message)
        }
        // Deterministic drafts travel without distribution blobs.
        XCTAssertEqual(messages[2].frames.count, 4)
        XCTAssertEqual(messages[3].frames.count, 6)
        XCTAssertEqual(messages[6].frames.count, 4, "candidate chains share the ids blob")
        XCTAssertEqual(messages[7].frames.count, 6, "one distribution per drafted token, every chain's")
    }

    func testMalformedFramesAreRefusedWithTypedErrors() throws {
        let request = DraftMessage.request(DraftWireRequest(sequence: 1, round: 1, method: .lookup, keep: 0, count: 4, tokens: [1, 2], sampling: .greedy)).frames
        func refuses(_ frames: [[UInt8]], _ expected: ErrorCode, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try DraftMessage(frames: frames), file: file, line: line) { error in
                XCTAssertEqual((error as? WireError)?.code, expected, "\(error)", file: file, line: line)
            }
        }
        func header(_ fields: [String: WireValue]) -> [UInt8] { MessagePackCodec.encode(fields) }
        let good: [String: WireValue] = ["seq": .int(1), "round": .int(1), "method": .string("lookup"), "keep": .int(0), "count": .int(4), "sampling": .string("{}")]
        func with(_ key: String, _ value: WireValue?) -> [String: WireValue] {
            var h = good
            h[key] = value
            return h
        }
        refuses(Array(request.prefix(2)), .badFrame)
        refuses([Array("TNDM02".utf8)] + request.dropFirst(), .unsupportedVersion)
        refuses([request[0], [0x43, 0]] + request.dropFirst(2), .badFrame)
        refuses([request[0], [0x4F]] + request.dropFirst(2), .unknownCommand)
        refuses([request[0], request[1], [0xc1]] + request.dropFirst(3), .badFrame)
        refuses([request[0], request[1], header(with("method", .string("oracle"))), request[3]], .invalidField)
        refuses([request[0], request[1], header(with("count", .int(0))), request[3]], .invalidField)
        refuses([request[0], request[1], header(with("count", .int(17))), request[3]], .invalidField)
        refuses([request[0], request[1], header(with("keep", .int(-1))), request[3]], .invalidField)
        refuses([request[0], request[1], header(with("seq", nil)), request[3]], .missingField)
        refuses([request[0], request[1], header(with("sampling", .string("{\"temperature\":-1}"))), request[3]], .invalidField)
        refuses([request[0], request[1], header(with("sampling", .string("not json"))), request[3]], .invalidField)
        refuses([request[0], request[1], request[2], [1, 2, 3]], .invalidField)  // not whole int32s
        refuses([request[0], request[1], request[2]], .invalidField)  // no token blob
        refuses(Array(request) + [[0]], .invalidField)  // an extra blob
        refuses(Array(request) + Array(repeating: [0, 0, 0, 0], count: 70), .tooLarge)

        let proposal = DraftMessage.proposal(DraftProposal(sequence: 1, round: 1, drafts: [.deterministic(4), .deterministic(9)])).frames
        refuses([proposal[0], proposal[1], proposal[2], [1, 0, 0, 0]], .invalidField)  // count says 2
        refuses(proposal + [[0]], .invalidField)  // 1 distribution for 2 drafts
        refuses(proposal + [Array(repeating: 0, count: 12), Array(repeating: 0, count: 12)], .invalidField)  // zero weights
        refuses([request[0], request[1], header(with("candidates", .int(9))), request[3]], .invalidField)
        refuses([request[0], request[1], header(with("candidates", .int(0))), request[3]], .invalidField)
        let fields: [String: WireValue] = ["seq": .int(1), "round": .int(1), "tokens": .int(2), "predrafted": .bool(false)]
        func chains(_ value: WireValue) -> [[UInt8]] {
            var h = fields
            h["chains"] = value
            return [proposal[0], proposal[1], header(h), proposal[3]]
        }
        refuses(chains(.array([.int(1)])), .invalidField)  // 3 ids announced, 2 sent
        refuses(chains(.array([.int(0)])), .invalidField)  // an empty chain
        refuses(chains(.string("1")), .invalidField)
        refuses(chains(.array(Array(repeating: .int(1), count: 8))), .invalidField)  // 9 chains
        refuses(proposal + [Array(repeating: 0, count: 12), Array(repeating: 0, count: 11)], .invalidField)

        let close = DraftMessage.close(sequences: [1]).frames
        refuses(close + [[1]], .badFrame)
        refuses([close[0], close[1], header(["seqs": .array([.string("x")])])], .invalidField)
        refuses([close[0], close[1], header([:])], .missingField)
    }
}
