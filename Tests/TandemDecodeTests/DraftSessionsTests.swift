import TandemDecode
import TandemDraft
import TandemModel
import XCTest

/// The draft worker's per-sequence bookkeeping, without sockets or a model.
final class DraftSessionsTests: XCTestCase {
    let peer: [UInt8] = [0, 1, 2, 3]
    let start = ContinuousClock.now

    func request(_ seq: Int64 = 1, round: Int64 = 1, method: DraftMethod = .earlyExit, keep: Int, _ tokens: [Int32]) -> DraftWireRequest {
        DraftWireRequest(sequence: seq, round: round, method: method, keep: keep, count: 4, tokens: tokens, sampling: .greedy)
    }

    func testRequestsExtendTheContextByTheNewTokensOnly() throws {
        var sessions = DraftSessions()
        let first = sessions.apply(request(keep: 0, [1, 2, 3]), from: peer, now: start)
        let (local, context) = try first.outcome.get()
        XCTAssertEqual(context, [1, 2, 3])
        XCTAssertNil(first.released)
        let second = try sessions.apply(request(round: 2, keep: 3, [4, 5]), from: peer, now: start).outcome.get()
        XCTAssertEqual(second.context, [1, 2, 3, 4, 5])
        XCTAssertEqual(second.local, local, "the drafter's state stays keyed by the same id")
        // The same sequence number from another decode worker is another session.
        let other = try sessions.apply(request(keep: 0, [9]), from: [7], now: start).outcome.get()
        XCTAssertNotEqual(other.local, local)
        XCTAssertEqual(sessions.count, 2)
    }

    func testAKeepThatDoesNotMatchIsUnknownSequenceAndEndsTheSession() {
        var sessions = DraftSessions()
        _ = sessions.apply(request(keep: 0, [1, 2, 3]), from: peer, now: start)
        let wrong = sessions.apply(request(round: 2, keep: 5, [4]), from: peer, now: start)
        guard case .failure(let failure) = wrong.outcome else { return XCTFail("accepted a keep of 5 for 3 tokens") }
        XCTAssertEqual(failure.code, DraftFailure.unknownSequence)
        XCTAssertEqual(failure.round, 2)
        XCTAssertEqual(wrong.released?.method, .earlyExit)
        XCTAssertEqual(sessions.count, 0)
        // Never seen: unknown too, nothing to release.
        let unseen = sessions.apply(request(9, keep: 4, [1]), from: peer, now: start)
        guard case .failure(let f) = unseen.outcome else { return XCTFail() }
        XCTAssertEqual(f.code, DraftFailure.unknownSequence)
        XCTAssertNil(unseen.released)
        // An empty context is refused.
        guard case .failure(let empty) = sessions.apply(request(keep: 0, []), from: peer, now: start).outcome else { return XCTFail() }
        XCTAssertEqual(empty.code, "invalid_field")
    }

    func testStartingOverWithAnotherMethodReleasesTheOldState() throws {
        var sessions = DraftSessions()
        let old = try sessions.apply(request(keep: 0, [1, 2]), from: peer, now: start).outcome.get()
        let restart = sessions.apply(request(method: .model, keep: 0, [1, 2, 3]), from: peer, now: start)
        XCTAssertEqual(restart.released, DraftSessions.Released(local: old.local, method: .earlyExit))
        XCTAssertEqual(try restart.outcome.get().context, [1, 2, 3])
        // The same method starting over keeps its id (the drafter reuses what still matches).
        let again = sessions.apply(request(method: .model, keep: 0, [1, 2]), from: peer, now: start)
        XCTAssertNil(again.released)
        XCTAssertEqual(try again.outcome.get().context, [1, 2])
    }

    func testCloseAndIdleTimeoutReleaseSessions() throws {
        var sessions = DraftSessions(idleTimeout: .seconds(60))
        let a = try sessions.apply(request(1, keep: 0, [1]), from: peer, now: start).outcome.get()
        let b = try sessions.apply(request(2, keep: 0, [1]), from: peer, now: start + .seconds(30)).outcome.get()
        XCTAssertEqual(sessions.close(peer: peer, sequences: [1, 42]), [DraftSessions.Released(local: a.local, method: .earlyExit)])
        XCTAssertEqual(sessions.expire(now: start + .seconds(89)), [])
        XCTAssertEqual(sessions.expire(now: start + .seconds(90)), [DraftSessions.Released(local: b.local, method: .earlyExit)])
        XCTAssertEqual(sessions.count, 0)
    }

    func testPredraftsAreHandedOutOnlyWhenTheContextFollowsThem() throws {
        var sessions = DraftSessions()
        let key = DraftSessions.Key(peer: peer, sequence: 1)
        _ = sessions.apply(request(keep: 0, [1, 2, 3]), from: peer, now: start)
        // Round 1 proposed [10, 11]; drafted ahead: [12, 13, 14].
        let chain: [DraftToken] = [10, 11, 12, 13, 14].map(DraftToken.deterministic)
        sessions.setPredraft(key, contextTokens: 3, drafts: chain)
        // Both drafts accepted and the target's token was 12: the drafts after it are ready.
        _ = sessions.apply(request(round: 2, keep: 3, [10, 11, 12]), from: peer, now: start)
        XCTAssertEqual(sessions.takePredraft(key)?.map(\.token), [13, 14])
        XCTAssertNil(sessions.takePredraft(key), "consumed")
        // A rejection (the target chose 99 after 10) discards them.
        sessions.setPredraft(key, contextTokens: 6, drafts: chain)
        _ = sessions.apply(request(round: 3, keep: 6, [10, 99]), from: peer, now: start)
        XCTAssertNil(sessions.takePredraft(key))
        // Nothing past the chain's end.
        sessions.setPredraft(key, contextTokens: 8, drafts: [DraftToken.deterministic(5)])
        _ = sessions.apply(request(round: 4, keep: 8, [5]), from: peer, now: start)
        XCTAssertNil(sessions.takePredraft(key))
    }
}
