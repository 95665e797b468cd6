@testable import TandemModel
import XCTest

final class KVCacheTests: XCTestCase {
    func testAllocationReleaseAndIdleReuse() throws {
        let cache = PagedKVCache(layerCount: 2, kvDimension: 4, blockCount: 4, blockSizeTokens: 4)
        try cache.createSequence(0)
        let slots = try cache.append(0, tokens: [1, 2, 3, 4, 5])
        XCTAssertEqual(slots.map(\.slot), [0, 1, 2, 3, 0])
        XCTAssertEqual(cache.table(0)!.blocks.count, 2)
        cache.sealFullBlocks(0)
        XCTAssertEqual(cache.table(0)!.sealedBlocks, 1)
        cache.release(0)
        XCTAssertEqual(cache.freeBlockCount, 4, "the sealed block is idle but reclaimable")
        // The sealed block is still found by prefix after release.
        XCTAssertEqual(try cache.createSequence(1, prompt: [1, 2, 3, 4, 9]), 4)
        // Filling the cache reclaims idle blocks.
        try cache.createSequence(2)
        _ = try cache.append(2, tokens: Array(repeating: 7, count: 12))
        XCTAssertThrowsError(try cache.append(2, tokens: [1]))
    }

    func testPrefixNeverCoversTheWholePrompt() throws {
        let cache = PagedKVCache(layerCount: 1, kvDimension: 2, blockCount: 8, blockSizeTokens: 2)
        try cache.createSequence(0)
        _ = try cache.append(0, tokens: [1, 2, 3, 4])
        cache.sealFullBlocks(0)
        XCTAssertEqual(try cache.createSequence(1, prompt: [1, 2, 3, 4]), 2, "the last token is always computed")
        XCTAssertEqual(try cache.createSequence(2, prompt: [1, 2, 3, 5, 6]), 2)
        XCTAssertEqual(try cache.createSequence(3, prompt: [9, 2, 3, 4, 6]), 0)
    }

    func testTruncateDropsPositionsAndBlocks() throws {
        let cache = PagedKVCache(layerCount: 1, kvDimension: 2, blockCount: 8, blockSizeTokens: 2)
        try cache.createSequence(0)
        _ = try cache.append(0, tokens: [1, 2, 3, 4, 5])
        cache.sealFullBlocks(0)
        try cache.truncate(0, toTokenCount: 3)
        XCTAssertEqual(cache.table(0)!.tokens, [1, 2, 3])
        XCTAssertEqual(cache.table(0)!.blocks.count, 2)
        XCTAssertEqual(cache.table(0)!.sealedBlocks, 1)
    }
}
