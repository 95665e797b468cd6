import Foundation
import TandemDecode
import TandemDraft
import TandemModel
import TandemTransport
import TandemWire
import TestSupport
import XCTest

/// A `DraftServer` and a decode worker's `DraftWorkerPool` over real ZeroMQ sockets on
/// 127.0.0.1, with prompt lookup (no model needed).
final class DraftServerTests: XCTestCase {
    let context: [Int32] = [5, 6, 7, 8, 1, 2, 5, 6, 7]

    func testThePoolGetsTheDraftsTheServerDraftsAndSendsOnlyNewTokens() throws {
        let server = try DraftServer(drafters: [PromptLookupDrafter()])
        defer { server.shutdown() }
        let pool = DraftWorkerPool(settings: .init(timeout: .seconds(2), bench: .seconds(1)))
        pool.setEndpoints([server.endpoint])
        let first = DraftRequest(sequence: 1, context: context, count: 3, sampling: .greedy)
        let drafts = try served(pool, .lookup, first)[0]
        XCTAssertEqual(drafts.map(\.token), PromptLookupDrafter.lookup(context, count: 3, maxNgram: 3, minNgram: 2))
        XCTAssertEqual(drafts.map(\.token), [8, 1, 2])
        // Next round: two accepted tokens more; the server extends its context (a wrong keep
        // would be answered unknown_sequence and leave this unserved).
        let next = DraftRequest(sequence: 1, context: context + [8, 1], count: 2, sampling: .greedy)
        let (more, unserved) = pool.propose(method: .lookup, [next])
        XCTAssertTrue(unserved.isEmpty)
        XCTAssertEqual(more[1]?.map { $0.map(\.token) }, [PromptLookupDrafter.lookup(next.context, count: 2, maxNgram: 3, minNgram: 2)])
        XCTAssertEqual(pool.answeredRounds(of: 1).all, 2)
        XCTAssertEqual(server.counters.errors, 0)

        // A method the server lacks is refused once and then not asked again.
        let (none, refused) = pool.propose(method: .earlyExit, [first])
        XCTAssertTrue(none.isEmpty)
        XCTAssertEqual(refused.count, 1)
        let before = server.counters.requests
        _ = pool.propose(method: .earlyExit, [first])
        XCTAssertEqual(server.counters.requests, before, "a refused method is not sent again")

        pool.close(1)
        eventually(timeout: 5, "the closed sequence is forgotten") { server.counters.sessions == 0 }
    }

    func testTheServerProposesTheCandidateChainsAsked() throws {
        let server = try DraftServer(drafters: [PromptLookupDrafter()])
        defer { server.shutdown() }
        let pool = DraftWorkerPool(settings: .init(timeout: .seconds(2), bench: .seconds(1)))
        pool.setEndpoints([server.endpoint])
        // "5 6" occurs three times before the end, followed by different tokens each time.
        let repeated: [Int32] = [5, 6, 9, 1, 5, 6, 7, 8, 5, 6, 3, 2, 5, 6]
        let chains = try served(pool, .lookup, DraftRequest(sequence: 4, context: repeated, count: 3, sampling: .greedy, candidates: 3))
        let expected = PromptLookupDrafter.lookup(repeated, count: 3, maxNgram: 3, minNgram: 2, candidates: 3)
        XCTAssertEqual(chains.map { $0.map(\.token) }, expected)
        XCTAssertEqual(expected, [[3, 2, 5], [7, 8, 5], [9, 1, 5]])
    }

    func testADeadDraftServerCostsAtMostOneTimeoutAndIsThenLeftAlone() throws {
        let server = try DraftServer(drafters: [PromptLookupDrafter()])
        let pool = DraftWorkerPool(settings: .init(timeout: .milliseconds(300), bench: .seconds(30)))
        pool.setEndpoints([server.endpoint])
        _ = try served(pool, .lookup, DraftRequest(sequence: 1, context: context, count: 2, sampling: .greedy))
        server.shutdown()
        Thread.sleep(forTimeInterval: 0.5)
        let request = DraftRequest(sequence: 1, context: context + [8], count: 2, sampling: .greedy)
        let started = ContinuousClock.now
        let (drafts, unserved) = pool.propose(method: .lookup, [request])
        XCTAssertTrue(drafts.isEmpty)
        XCTAssertEqual(unserved.map(\.sequence), [1])
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(1500), "bounded by the timeout")
        let again = ContinuousClock.now
        XCTAssertEqual(pool.propose(method: .lookup, [request]).unserved.count, 1)
        XCTAssertLessThan(ContinuousClock.now - again, .milliseconds(100), "a dead or benched worker is not waited for")
    }

    func testMalformedRequestsAreAnsweredWithTypedErrors() throws {
        let server = try DraftServer(drafters: [PromptLookupDrafter()])
        defer { server.shutdown() }
        let zmq = ZMQContext()
        let socket = try ZMQSocket(context: zmq, kind: .dealer)
        defer { socket.close() }
        try socket.connect(server.endpoint)
        var poller = Poller([.socket(socket)])
        func answer(_ frames: [[UInt8]]) throws -> DraftMessage? {
            try socket.send(frames)
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                if case .frames(let reply)? = try socket.receive(wait: false) { return try DraftMessage(frames: reply) }
                _ = try poller.poll(timeoutMilliseconds: 100)
            }
            return nil
        }
        let tag = ProtocolConstants.versionTag
        XCTAssertEqual(try answer([tag, [0x43], [0xc1]]).flatMap(Self.code), "bad_frame")
        XCTAssertEqual(try answer([Array("XXXX01".utf8), [0x43], MessagePackCodec.encode([:])]).flatMap(Self.code), "unsupported_version")
        XCTAssertEqual(try answer([tag, [0x7e], MessagePackCodec.encode([:])]).flatMap(Self.code), "unknown_command")
        XCTAssertEqual(try answer([tag, [0x43], MessagePackCodec.encode(["seq": .int(1)]), []]).flatMap(Self.code), "missing_field")
        let proposal = DraftMessage.proposal(DraftProposal(sequence: 1, round: 1, drafts: [])).frames
        XCTAssertEqual(try answer(proposal).flatMap(Self.code), "unknown_command", "a draft worker takes requests, not proposals")
        let unknown = DraftMessage.request(DraftWireRequest(sequence: 3, round: 1, method: .lookup, keep: 4, count: 2, tokens: [1], sampling: .greedy))
        XCTAssertEqual(try answer(unknown.frames).flatMap(Self.code), DraftFailure.unknownSequence)
        // Still serving.
        let good = DraftMessage.request(DraftWireRequest(sequence: 3, round: 2, method: .lookup, keep: 0, count: 2, tokens: context, sampling: .greedy))
        guard case .proposal(let p)? = try answer(good.frames) else { return XCTFail("no proposal") }
        XCTAssertEqual(p.drafts.map(\.token), [8, 1])
        XCTAssertEqual(server.counters.errors, 6)
    }

    static func code(_ message: DraftMessage) -> String? {
        if case .error(let f) = message { return f.code }
        return nil
    }

    /// Proposes until the pool's connection is up (a fresh socket's first send may find none yet).
    private func served(_ pool: DraftWorkerPool, _ method: DraftMethod, _ request: DraftRequest) throws -> [[DraftToken]] {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let drafts = pool.propose(method: method, [request]).drafts[request.sequence] { return drafts }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw TestSupportError("the draft server never answered")
    }
}
