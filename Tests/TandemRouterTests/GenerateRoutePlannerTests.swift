import TandemRouter
import TandemWire
import XCTest

/// The decode-worker choice and prefill placement for generations, without sockets.
final class GenerateRoutePlannerTests: XCTestCase {
    let policy = GenerateRoutePlanner.Policy(minRemoteTokens: 256, tokensPerSequence: 64)

    func profile(tokens: Int, hashes: [UInt64]) -> PromptProfile {
        PromptProfile(tokens: tokens, blockSizeTokens: 16, prefixHashes: hashes)
    }

    func worker(_ id: Int, holding: Int = 0, free: Int = 100, cached: Set<UInt64> = [], freeBlocks: Int = 200, lastDispatch: UInt64 = 0) -> GenerateRoutePlanner.DecodeWorker {
        .init(id: id, freeSlots: free, holding: holding,
              load: WorkerLoad(freeBlocks: freeBlocks, totalBlocks: 256, blockSizeTokens: 16, runningSequences: holding, waitingSequences: 0),
              cachedPrefixes: cached, lastDispatch: lastDispatch)
    }

    func testPrefersTheWorkerHoldingThePromptPrefix() {
        // 100 tokens: 6 full blocks can be adopted; worker 1 holds the first 4.
        let p = profile(tokens: 100, hashes: [1, 2, 3, 4, 5, 6])
        let choice = GenerateRoutePlanner.choose(p, workers: [worker(0), worker(1, cached: [1, 2, 3, 4, 99])], prefillFreeSlots: 0, policy: policy)
        XCTAssertEqual(choice, .init(worker: 1, placement: .local, cachedTokens: 64))
    }

    func testOnlyALeadingRunOfBlocksCounts() {
        // Worker 1 holds blocks 2 and 3 of the chain but not block 1: nothing it can adopt.
        let p = profile(tokens: 100, hashes: [1, 2, 3])
        let choice = GenerateRoutePlanner.choose(p, workers: [worker(0, lastDispatch: 5), worker(1, cached: [2, 3], lastDispatch: 1)],
                                                 prefillFreeSlots: 0, policy: policy)
        XCTAssertEqual(choice?.cachedTokens, 0)
        XCTAssertEqual(choice?.worker, 1, "a tie goes to the worker given work least recently")
    }

    func testABusyCachedWorkerLosesToAnIdleOne() {
        // 64 cached tokens are worth one running sequence; the cached worker holds three.
        let p = profile(tokens: 100, hashes: [1, 2, 3, 4, 5, 6])
        let choice = GenerateRoutePlanner.choose(p, workers: [worker(0, holding: 3, cached: [1, 2, 3, 4]), worker(1, holding: 0)],
                                                 prefillFreeSlots: 0, policy: policy)
        XCTAssertEqual(choice?.worker, 1)
    }

    func testWorkersWithoutRoomForThePromptComeLast() {
        let p = profile(tokens: 320, hashes: Array(1...19))
        let choice = GenerateRoutePlanner.choose(p, workers: [worker(0, freeBlocks: 5), worker(1, holding: 10, freeBlocks: 100)],
                                                 prefillFreeSlots: 0, policy: policy)
        XCTAssertEqual(choice?.worker, 1)
    }

    func testLongUncachedPromptsGoToAPrefillWorkerWhenOneIsFree() {
        let long = profile(tokens: 300, hashes: Array(1...18))
        XCTAssertEqual(GenerateRoutePlanner.choose(long, workers: [worker(0)], prefillFreeSlots: 1, policy: policy)?.placement, .remote)
        XCTAssertEqual(GenerateRoutePlanner.choose(long, workers: [worker(0)], prefillFreeSlots: 0, policy: policy)?.placement, .local,
                       "no free prefill slot: in place rather than waiting")
        // Cached down to 300 - 16 * 4 = 236 tokens to compute: under the threshold.
        XCTAssertEqual(GenerateRoutePlanner.choose(long, workers: [worker(0, cached: [1, 2, 3, 4])], prefillFreeSlots: 1, policy: policy)?.placement, .local)
        XCTAssertEqual(GenerateRoutePlanner.choose(profile(tokens: 40, hashes: [1, 2]), workers: [worker(0)], prefillFreeSlots: 1, policy: policy)?.placement, .local)
    }

    func testNoFreeSlotNoChoiceAndNoProfileGoesByLoad() {
        XCTAssertNil(GenerateRoutePlanner.choose(profile(tokens: 10, hashes: []), workers: [worker(0, free: 0)], prefillFreeSlots: 1, policy: policy))
        let choice = GenerateRoutePlanner.choose(nil, workers: [worker(0, holding: 2), worker(1, holding: 1)], prefillFreeSlots: 1, policy: policy)
        XCTAssertEqual(choice, .init(worker: 1, placement: .local, cachedTokens: 0))
    }
}
