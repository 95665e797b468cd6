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
        // A stale list: the pool believes the server also drafts early-exit.
        pool.setEndpoints([server.endpoint: [.lookup, .earlyExit]])
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
        XCTAssertEqual(pool.rounds(of: 1).all, 2)
        XCTAssertEqual(server.counters.errors, 0)

        // A method the server lacks (but the list said it has) is refused once and then not asked again.
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
        pool.setEndpoints([server.endpoint: [.lookup]])
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
        pool.setEndpoints([server.endpoint: server.methods])
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

    func testAMethodsRequestsGoOnlyToDraftWorkersThatOfferIt() throws {
        let lookupOnly = try DraftServer(drafters: [PromptLookupDrafter()])
        defer { lookupOnly.shutdown() }
        let withModel = try DraftServer(drafters: [PromptLookupDrafter(), FixedDrafter(method: .model, tokens: [42, 43])])
        defer { withModel.shutdown() }
        XCTAssertEqual(lookupOnly.drafting().methods, ["lookup"])
        XCTAssertEqual(withModel.drafting().methods, ["lookup", "model"])
        // The offers as a decode worker reads them from the router's worker list.
        let offers = DraftWorkerDirectory.draftOffers([
            ["service": "draft", "endpoint": lookupOnly.endpoint, "draft_methods": lookupOnly.drafting().methods],
            ["service": "draft", "endpoint": withModel.endpoint, "draft_methods": withModel.drafting().methods + ["oracle"]],
            ["service": "draft", "endpoint": "tcp://127.0.0.1:1", "draining": true, "draft_methods": ["model"]],
            ["service": "draft", "endpoint": "tcp://127.0.0.1:2"],  // no heartbeat yet: methods unknown
            ["service": "decode", "endpoint": "tcp://127.0.0.1:3", "draft_methods": ["model"]],
        ])
        XCTAssertEqual(offers, [lookupOnly.endpoint: [.lookup], withModel.endpoint: [.lookup, .model]])
        let pool = DraftWorkerPool(settings: .init(timeout: .seconds(2), bench: .seconds(1)))
        pool.setEndpoints(offers)
        XCTAssertEqual(pool.liveEndpoints(offering: .model), [withModel.endpoint])
        // Several sequences, each placed on the worker holding the fewest: every model one lands on
        // the worker with the model, none is refused.
        for sequence in 1...4 {
            let drafts = try served(pool, .model, DraftRequest(sequence: sequence, context: context, count: 2, sampling: .greedy))[0]
            XCTAssertEqual(drafts.map(\.token), [42, 43])
        }
        XCTAssertEqual(lookupOnly.counters.requests, 0, "no model request went to the worker without a model")
        XCTAssertEqual(withModel.counters.errors, 0)

        // With no worker offering the method, nothing is sent and nothing waits.
        pool.setEndpoints([lookupOnly.endpoint: [.lookup]])
        let started = ContinuousClock.now
        let (none, unserved) = pool.propose(method: .model, [DraftRequest(sequence: 9, context: context, count: 2, sampling: .greedy)])
        XCTAssertTrue(none.isEmpty)
        XCTAssertEqual(unserved.map(\.sequence), [9])
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(100))
        XCTAssertEqual(lookupOnly.counters.requests, 0)
    }

    func testTheServerReportsItsSessionsRoundsAndBusyFraction() throws {
        let server = try DraftServer(drafters: [PromptLookupDrafter(), FixedDrafter(method: .model, tokens: [7], delay: 0.05)])
        defer { server.shutdown() }
        _ = server.drafting()  // starts the busy interval
        let pool = DraftWorkerPool(settings: .init(timeout: .seconds(2), bench: .seconds(1)))
        pool.setEndpoints([server.endpoint: server.methods])
        for sequence in 1...3 { _ = try served(pool, .model, DraftRequest(sequence: sequence, context: context, count: 1, sampling: .greedy)) }
        eventually(timeout: 5, "the sessions are counted") { server.counters.sessions == 3 }
        let load = server.drafting()
        XCTAssertEqual(load.rounds, 3)
        XCTAssertEqual(load.sessions, 3)
        // Three answers of 50 ms each in the interval.
        XCTAssertGreaterThan(load.busyFraction, 0)
        XCTAssertLessThanOrEqual(load.busyFraction, 1)
        XCTAssertGreaterThanOrEqual(server.counters.busy, .milliseconds(150))
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(server.drafting().busyFraction, 0, "an idle interval")
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
