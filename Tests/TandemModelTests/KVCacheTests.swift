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

    func testTruncatedSealedBlockIsNoLongerAPrefixAndSharedOnesAreCopied() throws {
        let cache = PagedKVCache(layerCount: 1, kvDimension: 2, blockCount: 8, blockSizeTokens: 2)
        try cache.createSequence(0)
        let slots = try cache.append(0, tokens: [1, 2, 3, 4, 5])
        cache.key(block: slots[3].block, layer: 0, slot: 1).pointee = 42
        cache.sealFullBlocks(0)
        // Drafts 4 and 5 rejected: the block holding [3, 4] is partial again and will be rewritten.
        try cache.truncate(0, toTokenCount: 3)
        XCTAssertEqual(try cache.createSequence(1, prompt: [1, 2, 3, 4, 9]), 2, "[1 2 3 4] is no longer a cached prefix")

        // Adopted by another sequence before the truncation: the truncated one gets its own copy.
        try cache.createSequence(2)
        let s2 = try cache.append(2, tokens: [7, 8, 7, 9, 1])
        cache.key(block: s2[3].block, layer: 0, slot: 1).pointee = 5
        cache.sealFullBlocks(2)
        XCTAssertEqual(try cache.createSequence(3, prompt: [7, 8, 7, 9, 6]), 4)
        let shared = cache.table(2)!.blocks[1]
        try cache.truncate(2, toTokenCount: 3)
        XCTAssertNotEqual(cache.table(2)!.blocks[1], shared)
        XCTAssertEqual(cache.key(block: cache.table(2)!.blocks[1], layer: 0, slot: 1).pointee, 5, "copied")
        XCTAssertEqual(cache.table(3)!.blocks[1], shared, "the adopter keeps the sealed block")
        XCTAssertEqual(cache.refcount(ofBlock: shared), 1)
    }
}
