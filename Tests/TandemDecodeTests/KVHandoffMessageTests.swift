import TandemDecode
import TandemWire
import XCTest

/// The data-plane KV handoff: frames round-trip, bulk bytes ride as blobs of whole blocks, and
/// anything inconsistent is refused with a typed error before it is used.
final class KVHandoffMessageTests: XCTestCase {
    func handoff(tokens: Int = 37, blockBytes: Int = 64) -> KVHandoff {
        let blocks = (tokens + 15) / 16
        return KVHandoff(handoff: "h-1", tokens: (0..<tokens).map { Int32($0 * 1000 - 7) }, blockSizeTokens: 16, blockBytes: blockBytes,
                         firstToken: 42, bytes: (0..<blocks * blockBytes).map { UInt8(truncatingIfNeeded: $0 * 31) })
    }

    func testRoundTripsWithRawBlobs() throws {
        let h = handoff()
        let frames = KVHandoffMessage.blocks(h).frames
        XCTAssertEqual(frames[0], ProtocolConstants.versionTag)
        XCTAssertEqual(frames[1], [KVHandoffMessage.blocksCommand])
        XCTAssertEqual(frames[3].count, 37 * 4, "token ids as int32")
        XCTAssertEqual(Array(frames[4...].joined()), h.bytes, "the KV bytes are the blobs, untouched")
        XCTAssertEqual(try KVHandoffMessage(frames: frames), .blocks(h))
        XCTAssertEqual(try KVHandoffMessage(frames: KVHandoffMessage.ack(handoff: "h-1").frames), .ack(handoff: "h-1"))
    }

    func testLargeHandoffsAreSplitIntoWholeBlocksUnderTheBlobLimit() throws {
        let blockBytes = 5 * 1024 * 1024
        let h = KVHandoff(handoff: "big", tokens: Array(repeating: 1, count: 16 * 30), blockSizeTokens: 16, blockBytes: blockBytes, firstToken: 1,
                          bytes: [UInt8](repeating: 7, count: 30 * blockBytes))
        let frames = KVHandoffMessage.blocks(h).frames
        XCTAssertGreaterThan(frames.count, 5)
        for blob in frames[4...] {
            XCTAssertLessThanOrEqual(blob.count, ProtocolConstants.maxBlobBytes)
            XCTAssertEqual(blob.count % blockBytes, 0)
        }
        XCTAssertEqual(try KVHandoffMessage(frames: frames), .blocks(h))
    }

    func testRefusesInconsistentMessages() {
        let frames = KVHandoffMessage.blocks(handoff()).frames
        var short = frames
        short[short.count - 1].removeLast()
        XCTAssertThrowsError(try KVHandoffMessage(frames: short), "missing KV bytes")
        var extra = frames
        extra.append([0])
        XCTAssertThrowsError(try KVHandoffMessage(frames: extra), "extra KV bytes")
        var ids = frames
        ids[3].removeLast()
        XCTAssertThrowsError(try KVHandoffMessage(frames: ids), "token ids that do not match the count")
        var version = frames
        version[0] = Array("TNDM02".utf8)
        XCTAssertThrowsError(try KVHandoffMessage(frames: version))
        var command = frames
        command[1] = [0x7f]
        XCTAssertThrowsError(try KVHandoffMessage(frames: command))
        XCTAssertThrowsError(try KVHandoffMessage(frames: Array(frames.prefix(2))))
        var header = frames
        header[2] = MessagePackCodec.encode(["handoff": .string("x"), "tokens": .int(-1), "block_size_tokens": .int(16),
                                             "block_bytes": .int(64), "first_token": .int(0)])
        XCTAssertThrowsError(try KVHandoffMessage(frames: header), "negative count")
        header[2] = MessagePackCodec.encode(["tokens": .int(37)])
        XCTAssertThrowsError(try KVHandoffMessage(frames: header), "no handoff id")
    }

    func testChecksumChangesWithAnyByte() {
        var h = handoff()
        let before = h.checksum
        h.bytes[h.bytes.count / 2] ^= 1
        XCTAssertNotEqual(h.checksum, before)
    }

    /// Parts of a 37-token prompt (3 blocks, 2 full): full blocks first, the rest with the first token.
    func parts(of h: KVHandoff, splitAt: Int) -> [KVHandoff] {
        var early = h, last = h
        early.bytes = Array(h.bytes[0..<splitAt * h.blockBytes])
        early.final = false
        early.firstToken = 0
        last.bytes = Array(h.bytes[(splitAt * h.blockBytes)...])
        last.firstBlock = splitAt
        last.computedAtMicroseconds = 1_764_300_000_123_456
        return [early, last]
    }

    func testPartsRoundTripAndAssembleToTheWhole() throws {
        let h = handoff()
        let parts = parts(of: h, splitAt: 2)
        for part in parts { XCTAssertEqual(try KVHandoffMessage(frames: KVHandoffMessage.blocks(part).frames), .blocks(part)) }
        var (assembly, outcome) = KVHandoffAssembly.start(parts[0])
        XCTAssertEqual(outcome, .partial)
        var whole = h
        whole.computedAtMicroseconds = parts[1].computedAtMicroseconds
        XCTAssertEqual(assembly?.add(parts[1]), .complete(whole), "the final part's compute time comes along")
        // One part holding everything completes at once.
        (assembly, outcome) = KVHandoffAssembly.start(h)
        XCTAssertNil(assembly)
        XCTAssertEqual(outcome, .complete(h))
        var sum = KVChecksum()
        for part in parts { sum.add(part.bytes) }
        XCTAssertEqual(sum.hex, h.checksum, "checksummed part by part == at once")
    }

    func testAssemblyRefusesPartsOutOfOrderOrOfAnotherPrompt() {
        let h = handoff()
        let parts = parts(of: h, splitAt: 1)
        if case .refused = KVHandoffAssembly.start(parts[1]).1 {} else { XCTFail("a part that does not start at block 0") }
        var (assembly, _) = KVHandoffAssembly.start(parts[0])
        var other = parts[1]
        other.tokens[0] += 1
        if case .refused = assembly!.add(other) {} else { XCTFail("a part for another prompt") }
        (assembly, _) = KVHandoffAssembly.start(parts[0])
        var skipped = parts[1]
        skipped.firstBlock = 2
        skipped.bytes.removeFirst(h.blockBytes)
        if case .refused = assembly!.add(skipped) {} else { XCTFail("a gap") }
    }

    func testRefusesBlobsThatSplitABlock() {
        var frames = KVHandoffMessage.blocks(handoff()).frames
        let bytes = Array(frames[4...].joined())
        frames = Array(frames[..<4]) + [Array(bytes[..<100]), Array(bytes[100...])]  // the right total, a block cut in two
        XCTAssertThrowsError(try KVHandoffMessage(frames: frames), "a blob that is not whole blocks")
    }

    func testAssemblyKeepsThePartsBlobsInOrder() throws {
        let h = handoff()
        let parts = parts(of: h, splitAt: 1)
        var (assembly, outcome) = KVHandoffAssembly.start(try roundTrip(parts[0]))
        XCTAssertEqual(outcome, .partial)
        outcome = assembly!.add(try roundTrip(parts[1]))
        guard case .complete(let whole) = outcome else { return XCTFail("not complete: \(outcome)") }
        XCTAssertEqual(whole.blobs.count, 2, "one blob per part, not joined")
        XCTAssertEqual(whole.bytes, h.bytes)
        XCTAssertEqual(whole.checksum, h.checksum)
    }

    private func roundTrip(_ part: KVHandoff) throws -> KVHandoff {
        guard case .blocks(let decoded) = try KVHandoffMessage(frames: KVHandoffMessage.blocks(part).frames) else { throw WireError.malformedCommandFrame }
        return decoded
    }

    func testRefusesPartsThatAreNotWholeFullBlocks() {
        let h = handoff()
        var early = parts(of: h, splitAt: 2)[0]
        early.bytes.removeLast()
        XCTAssertThrowsError(try KVHandoffMessage(frames: KVHandoffMessage.blocks(early).frames), "not whole blocks")
        var partial = h
        partial.final = false  // 3 blocks, the last not full: only a final part may carry it
        XCTAssertThrowsError(try KVHandoffMessage(frames: KVHandoffMessage.blocks(partial).frames), "a partial block before the end")
        var final = parts(of: h, splitAt: 2)[1]
        final.bytes += [UInt8](repeating: 0, count: h.blockBytes)
        XCTAssertThrowsError(try KVHandoffMessage(frames: KVHandoffMessage.blocks(final).frames), "more blocks than the prompt has")
    }
}
