import TandemWire
import XCTest

/// The decoder is the security boundary: every way a frame can be wrong gives a typed error.
final class DecoderRejectionTests: XCTestCase {
    private func decodeAll(_ frames: [[UInt8]]) -> [Result<Void, WireError>] {
        [
            Result { () throws(WireError) in _ = try ClientRequest(frames: frames) },
            Result { () throws(WireError) in _ = try ClientReply(frames: frames) },
            Result { () throws(WireError) in _ = try WorkerMessage(frames: frames) },
            Result { () throws(WireError) in _ = try RouterMessage(frames: frames) },
        ]
    }

    private var allFrames: [[[UInt8]]] {
        WireSamples.clientRequests.map(\.frames) + WireSamples.clientReplies.map(\.frames)
            + WireSamples.workerMessages.map(\.frames) + WireSamples.routerMessages.map(\.frames)
    }

    func testEveryTruncatedHeaderIsRejected() {
        for frames in allFrames {
            let header = frames[2]
            for length in 0..<header.count {
                var cut = frames
                cut[2] = Array(header.prefix(length))
                XCTAssertThrowsError(try MessagePackCodec.decode(cut[2]), "prefix \(length) of \(header)")
                for result in decodeAll(cut) {
                    if case .success = result { XCTFail("truncated header of length \(length) decoded") }
                }
            }
        }
    }

    func testMissingFramesAreRejected() {
        for frames in allFrames {
            for count in 0..<3 {
                XCTAssertThrowsError(try Envelope(frames: Array(frames.prefix(count)))) { error in
                    XCTAssertEqual(error as? WireError, .tooFewFrames(count))
                }
            }
        }
    }

    func testBundledMessagesInOneFrameAreRejected() {
        let first = WireSamples.workerMessages[0].frames
        let second = WireSamples.workerMessages[6].frames
        var bundled = first
        bundled[2] = first[2] + second[2]
        XCTAssertThrowsError(try WorkerMessage(frames: bundled)) { error in
            guard case .malformedHeader = error as? WireError else { return XCTFail("\(error)") }
        }
        // Two whole messages sent as one multipart message: the second's version tag is a blob the command does not allow.
        XCTAssertThrowsError(try WorkerMessage(frames: second + first))
    }

    func testCorruptedBytesNeverCrash() {
        var generator = SplitMix64(seed: 42)
        for frames in allFrames {
            for _ in 0..<200 {
                var corrupted = frames
                let frameIndex = Int(generator.next() % 3)
                guard !corrupted[frameIndex].isEmpty else { continue }
                let byteIndex = Int(generator.next() % UInt64(corrupted[frameIndex].count))
                corrupted[frameIndex][byteIndex] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                _ = decodeAll(corrupted)  // any outcome but a crash is acceptable
            }
        }
        for _ in 0..<2000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? MessagePackCodec.decode(bytes)
        }
    }

    func testWrongVersionAndUnknownCommand() {
        var frames = WireSamples.routerMessages[2].frames
        frames[0] = Array("TNDM02".utf8)
        XCTAssertThrowsError(try RouterMessage(frames: frames)) { XCTAssertEqual($0 as? WireError, .unsupportedVersion(Array("TNDM02".utf8))) }
        frames = WireSamples.routerMessages[2].frames
        frames[1] = [0x7e]
        XCTAssertThrowsError(try RouterMessage(frames: frames)) { XCTAssertEqual($0 as? WireError, .unknownCommand(0x7e)) }
        frames[1] = [0x33, 0x33]
        XCTAssertThrowsError(try RouterMessage(frames: frames)) { XCTAssertEqual($0 as? WireError, .malformedCommandFrame) }
        // A worker command sent to the client decoder is unknown there.
        XCTAssertThrowsError(try ClientRequest(frames: WireSamples.workerMessages[6].frames)) {
            XCTAssertEqual($0 as? WireError, .unknownCommand(WorkerMessage.Command.heartbeat.rawValue))
        }
    }

    func testReservedByteIsRejected() {
        XCTAssertThrowsError(try MessagePackCodec.decode([0x81, 0xa1, 0x61, 0xc1])) { error in
            guard case .malformedHeader(let why, offset: 3) = error as? WireError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("0xc1"))
        }
    }

    func testDeclaredLengthsBeyondTheFrameAreRejectedBeforeAllocating() {
        // array32 declaring 4 billion elements, map32 likewise, str32 and bin32 of 4 GiB.
        let lies: [[UInt8]] = [
            [0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00],
            [0xdf, 0xff, 0xff, 0xff, 0xff],
            [0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41],
            [0x81, 0xa1, 0x61, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x41],
            [0x81, 0xa1, 0x61, 0xdc, 0x00, 0x10, 0xc0],
        ]
        for bytes in lies {
            XCTAssertThrowsError(try MessagePackCodec.decode(bytes)) { error in
                guard case .malformedHeader = error as? WireError else { return XCTFail("\(bytes): \(error)") }
            }
        }
    }

    func testCapsOnDepthElementsAndSize() {
        var deep: [UInt8] = [0x81, 0xa1, 0x61]
        deep += Array(repeating: 0x91, count: 20) + [0xc0]
        XCTAssertThrowsError(try MessagePackCodec.decode(deep)) { XCTAssertEqual($0 as? WireError, .tooDeep) }

        var wide: [UInt8] = [0x81, 0xa1, 0x61, 0xdc, 0x20, 0x00]  // array16 of 8192 nils
        wide += Array(repeating: 0xc0, count: 8192)
        XCTAssertThrowsError(try MessagePackCodec.decode(wide)) { XCTAssertEqual($0 as? WireError, .tooManyElements) }

        let big = Array(repeating: UInt8(0xc0), count: ProtocolConstants.maxHeaderBytes + 1)
        XCTAssertThrowsError(try MessagePackCodec.decode(big)) { XCTAssertEqual($0 as? WireError, .headerTooLarge(big.count)) }

        var frames = WireSamples.clientReplies[1].frames
        frames.append(contentsOf: Array(repeating: [1], count: ProtocolConstants.maxBlobFrames))
        XCTAssertThrowsError(try ClientReply(frames: frames)) { XCTAssertEqual($0 as? WireError, .tooManyFrames(frames.count)) }
    }

    func testDuplicateKeysInvalidUTF8AndNonMapHeaders() {
        XCTAssertThrowsError(try MessagePackCodec.decode([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02])) {
            XCTAssertEqual($0 as? WireError, .duplicateKey("a"))
        }
        XCTAssertThrowsError(try MessagePackCodec.decode([0x81, 0xa1, 0x61, 0xa2, 0xc3, 0x28])) {
            XCTAssertEqual($0 as? WireError, .invalidUTF8(offset: 3))
        }
        XCTAssertThrowsError(try MessagePackCodec.decode([0x91, 0x01])) { XCTAssertEqual($0 as? WireError, .headerNotAMap) }
        XCTAssertThrowsError(try MessagePackCodec.decode([0x81, 0x01, 0x02])) { XCTAssertEqual($0 as? WireError, .headerNotAMap) }
        XCTAssertThrowsError(try MessagePackCodec.decode([0x81, 0xa1, 0x61, 0xd4, 0x01, 0x02]))  // fixext1
    }

    func testMissingAndMistypedFields() {
        let noKind = Envelope(command: ClientRequest.Command.submit.rawValue, header: ["req": .uint(1)])
        XCTAssertThrowsError(try ClientRequest(envelope: noKind)) { XCTAssertEqual($0 as? WireError, .missingField("kind")) }
        let badJob = Envelope(command: ClientRequest.Command.cancel.rawValue, header: ["req": .uint(1), "job": .string("nope")])
        XCTAssertThrowsError(try ClientRequest(envelope: badJob)) {
            XCTAssertEqual($0 as? WireError, .invalidField("job", "expected a UUID"))
        }
        let wrongType = Envelope(command: ClientRequest.Command.submit.rawValue, header: ["req": .string("1"), "kind": .string("echo")])
        XCTAssertThrowsError(try ClientRequest(envelope: wrongType)) {
            XCTAssertEqual($0 as? WireError, .invalidField("req", "expected an integer"))
        }
        let zeroCapacity = WorkerMessage.ready(.init(service: "echo", capacity: 0, heartbeatMilliseconds: 1000, liveness: 3))
        XCTAssertThrowsError(try WorkerMessage(frames: zeroCapacity.frames))
        let negativeRequest = Envelope(command: ClientRequest.Command.watch.rawValue, header: ["req": .int(-1), "job": .string(WireSamples.job.uuidString)])
        XCTAssertThrowsError(try ClientRequest(envelope: negativeRequest))
    }

    func testUnknownFieldsAreIgnored() throws {
        var envelope = WorkerMessage.heartbeat(running: 2).envelope
        envelope.header["future_field"] = .array([.int(1)])
        XCTAssertEqual(try WorkerMessage(frames: envelope.frames), .heartbeat(running: 2))
    }

    func testBadLoadReportsAndPlacementsAreRefused() throws {
        let load = WorkerLoad(freeBlocks: 1, totalBlocks: 2, blockSizeTokens: 16, runningSequences: 0, waitingSequences: 0, prefixHashes: [7])
        guard case .map(let good) = WorkerMessage.heartbeat(running: 0, load: load).envelope.header["load"] else { return XCTFail("load is a map") }
        func heartbeat(_ change: (inout [String: WireValue]) -> Void) -> [[UInt8]] {
            var map = good
            change(&map)
            return Envelope(command: WorkerMessage.Command.heartbeat.rawValue, header: ["running": .int(0), "load": .map(map)]).frames
        }
        XCTAssertThrowsError(try WorkerMessage(frames: heartbeat { $0["prefixes"] = .binary([1, 2, 3]) }), "hashes are 8 bytes")
        XCTAssertThrowsError(try WorkerMessage(frames: heartbeat { $0["kv_free_blocks"] = .int(3) }), "more free than total")
        XCTAssertThrowsError(try WorkerMessage(frames: heartbeat { $0["kv_total_blocks"] = nil }), "missing total")
        XCTAssertThrowsError(try WorkerMessage(frames: heartbeat { $0["prefixes"] = .string("x") }), "prefixes not binary")
        XCTAssertThrowsError(try WorkerMessage(frames: heartbeat { $0["spec_verifications"] = .int(1); $0["spec_drafted"] = .int(2); $0["spec_accepted"] = .int(3) }),
                             "more accepted than drafted")
        XCTAssertThrowsError(try WorkerMessage(frames: heartbeat { $0["spec_verifications"] = .int(-1) }), "negative count")
        XCTAssertThrowsError(try WorkerMessage(frames: Envelope(command: WorkerMessage.Command.heartbeat.rawValue, header: ["load": .int(1)]).frames))

        // A draft worker's load: no KV cache, its methods and how busy it is.
        let drafting = WorkerLoad(drafting: .init(methods: ["lookup"], sessions: 2, rounds: 5, busyFraction: 0.5))
        guard case .map(let draftMap) = WorkerMessage.heartbeat(running: 0, load: drafting).envelope.header["load"] else { return XCTFail("load is a map") }
        XCTAssertNil(draftMap["kv_free_blocks"])
        func draftHeartbeat(_ change: (inout [String: WireValue]) -> Void) -> [[UInt8]] {
            var map = draftMap
            change(&map)
            return Envelope(command: WorkerMessage.Command.heartbeat.rawValue, header: ["running": .int(0), "load": .map(map)]).frames
        }
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_methods"] = .string("lookup") }), "methods are an array")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_methods"] = .array([.int(1)]) }), "method names are strings")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_methods"] = .array(Array(repeating: .string("x"), count: 17)) }), "too many methods")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_busy"] = .double(1.5) }), "busy above 1")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_busy"] = .double(.nan) }), "busy not a number")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_busy"] = .string("high") }), "busy not a number")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["draft_sessions"] = .int(-1) }), "negative sessions")
        XCTAssertThrowsError(try WorkerMessage(frames: draftHeartbeat { $0["kv_free_blocks"] = .int(1) }), "part of a KV report")
        // Keys a reader does not know, and method names it does not know, are carried or ignored.
        let tolerated = try WorkerMessage(frames: draftHeartbeat {
            $0["draft_queue_depth"] = .int(4)
            $0["draft_methods"] = .array([.string("lookup"), .string("tree")])
        })
        XCTAssertEqual(tolerated, .heartbeat(running: 0, load: WorkerLoad(drafting: .init(methods: ["lookup", "tree"], sessions: 2, rounds: 5, busyFraction: 0.5))))
        XCTAssertEqual(try WorkerMessage(frames: draftHeartbeat { $0["draft_busy"] = .int(1) }),
                       .heartbeat(running: 0, load: WorkerLoad(drafting: .init(methods: ["lookup"], sessions: 2, rounds: 5, busyFraction: 1))))
        var dispatch = RouterMessage.dispatch(.init(job: WireSamples.job, attempt: 1, kind: "generate", params: "{}")).envelope
        dispatch.header["prefill"] = .string("elsewhere")
        XCTAssertThrowsError(try RouterMessage(frames: dispatch.frames)) {
            XCTAssertEqual($0 as? WireError, .invalidField("prefill", "expected local or remote"))
        }
    }
}

/// A tiny deterministic generator so fuzzed inputs are the same every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
