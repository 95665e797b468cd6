@testable import TandemDecode
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
        refuses(proposal + [Array(repeating: 0, count: 8), Array(repeating: 0, count: 8)], .invalidField)  // zero weights
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
        refuses(proposal + [Array(repeating: 0, count: 8), Array(repeating: 0, count: 7)], .invalidField)

        let close = DraftMessage.close(sequences: [1]).frames
        refuses(close + [[1]], .badFrame)
        refuses([close[0], close[1], header(["seqs": .array([.string("x")])])], .invalidField)
        refuses([close[0], close[1], header([:])], .missingField)
    }

    /// The (token, weight) entries of one distribution blob: int32 LE token, float32 LE weight.
    static func blob(_ entries: [(Int32, Float)]) -> [UInt8] {
        entries.flatMap { token, weight in
            withUnsafeBytes(of: token.littleEndian, Array.init) + withUnsafeBytes(of: weight.bitPattern.littleEndian, Array.init)
        }
    }

    func testSampledDraftsTravelAsSparseFloat32Distributions() throws {
        // As a model drafter makes them: the sampler's distribution over the whole vocabulary, compacted.
        let logits = (0..<49_152).map { Float(sin(Double($0) * 0.37)) * 6 }
        let whole = Sampler.distribution(logits: logits, history: [], parameters: sampled)
        let compact = whole.compactedForDrafts()
        let draft = DraftToken(token: compact.draw(0.3), distribution: compact)
        let message = DraftMessage.proposal(DraftProposal(sequence: 2, round: 5, drafts: [draft]))
        XCTAssertEqual(try DraftMessage(frames: message.frames), message, "the verifier gets exactly the q the draft was drawn from")
        XCTAssertEqual(message.frames[4].count, 8 * compact.tokens.count)
        XCTAssertLessThanOrEqual(compact.tokens.count, 40, "top-k 40 of the sampling parameters")
        XCTAssertEqual(Self.blob([(4, 0.75), (8, 0.25)]), DraftMessage.encode(TokenDistribution(tokens: [4, 8], weights: [0.75, 0.25])))
    }

    func testMalformedOrOversizedDistributionBlobsAreRefusedWithTypedErrors() throws {
        let ids = DraftMessage.proposal(DraftProposal(sequence: 1, round: 1, drafts: [.deterministic(4)])).frames
        func refuses(_ blob: [UInt8], _ why: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try DraftMessage(frames: ids + [blob]), why, file: file, line: line) { error in
                guard case .invalidField("distribution", let message)? = error as? WireError else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertFalse(message.isEmpty, file: file, line: line)
            }
        }
        XCTAssertNoThrow(try DraftMessage(frames: ids + [Self.blob([(4, 1), (9, 0.5)])]))
        refuses([], "empty")
        refuses(Array(Self.blob([(4, 1)]).dropLast()), "not whole entries")
        refuses(Self.blob([(4, 1), (-3, 0.5)]), "a negative token")
        refuses(Self.blob([(4, 1), (9, 0)]), "a zero weight: sparse blobs list only tokens the draft can draw")
        refuses(Self.blob([(4, 1), (9, -0.5)]), "a negative weight")
        refuses(Self.blob([(4, 1), (9, .nan)]), "not a number")
        refuses(Self.blob([(4, 1), (9, .infinity)]), "infinite")
        refuses(Self.blob([(4, 1), (4, 0.5)]), "a token twice")
        refuses(Self.blob([(9, 1)]), "the draft (4) has no weight in its own distribution")
        // More entries than any vocabulary: refused before the entries are read.
        let oversized = [UInt8](repeating: 0, count: 8 * (DraftMessage.maxDistributionTokens + 1))
        XCTAssertThrowsError(try DraftMessage(frames: ids + [oversized])) { error in
            XCTAssertEqual(error as? WireError, .invalidField("distribution", "\(DraftMessage.maxDistributionTokens + 1) entries; at most \(DraftMessage.maxDistributionTokens)"))
            XCTAssertEqual((error as? WireError)?.code, .invalidField)
        }
        // A whole vocabulary is within the limit.
        let whole = Self.blob((0..<49_152).map { (Int32($0), $0 == 4 ? 1 : 1e-3) })
        XCTAssertEqual(try DraftMessage(frames: ids + [whole]).proposalDrafts?.first?.distribution.tokens.count, 49_152)
    }
}

extension DraftMessage {
    var proposalDrafts: [DraftToken]? {
        if case .proposal(let p) = self { return p.drafts }
        return nil
    }
}
