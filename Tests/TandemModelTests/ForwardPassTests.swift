import Foundation
import TandemKernels
@testable import TandemModel
import XCTest

/// The batch-first forward pass on a tiny random-weight model: batching, chunking and prefix
/// sharing must not change any logit.
final class ForwardPassTests: XCTestCase {
    var model: LlamaModel!
    var path: String!

    override func setUpWithError() throws {
        path = try TinyModel.write()
        model = try LlamaModel(path: path, threads: 2)
    }

    override func tearDown() {
        model = nil
        try? FileManager.default.removeItem(atPath: path)
    }

    func prompt(_ n: Int, salt: Int) -> [Int32] { (0..<n).map { Int32(($0 * 7 + salt * 13) % 64) } }

    func testReadsHyperParametersFromMetadata() {
        XCTAssertEqual(model.config, TinyModel.config)
        XCTAssertEqual(model.weights.output.data, model.weights.tokenEmbedding.data, "tied output embedding")
    }

    func testBatchedEqualsSolo() throws {
        let prompts = [prompt(5, salt: 1), prompt(23, salt: 2), prompt(1, salt: 3), prompt(40, salt: 4)]
        let solo = try prompts.enumerated().map { i, p -> [[Float]] in
            let cache = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
            try cache.createSequence(i)
            return try model.forward([ForwardRequest(sequence: i, tokens: p, logitIndices: Array(p.indices))], cache: cache)[0]
        }
        let cache = PagedKVCache(config: model.config, capacityTokens: 256, blockSizeTokens: 8)
        for i in prompts.indices { try cache.createSequence(i) }
        let batched = try model.forward(prompts.enumerated().map { ForwardRequest(sequence: $0, tokens: $1, logitIndices: Array($1.indices)) }, cache: cache)
        for i in prompts.indices {
            for (a, b) in zip(batched[i], solo[i]) { XCTAssertLessThan(VectorMath.nmse(a, b), 1e-10, "sequence \(i)") }
        }
        // Then one decode step of all four together equals each alone.
        let next: [Int32] = [3, 9, 27, 60]
        let step = try model.forward(next.enumerated().map { ForwardRequest(sequence: $0, tokens: [$1]) }, cache: cache)
        for i in prompts.indices {
            let c = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
            try c.createSequence(0)
            let full = try model.forward([ForwardRequest(sequence: 0, tokens: prompts[i] + [next[i]])], cache: c)[0][0]
            XCTAssertLessThan(VectorMath.nmse(step[i][0], full), 1e-10)
        }
    }

    func testChunkedPrefillAndDecodeEqualOnePass() throws {
        let p = prompt(37, salt: 5)
        let cache = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
        try cache.createSequence(0)
        let whole = try model.forward([ForwardRequest(sequence: 0, tokens: p, logitIndices: Array(p.indices))], cache: cache)[0]
        let cache2 = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
        try cache2.createSequence(0)
        var pieces: [[Float]] = []
        var start = 0
        for size in [10, 1, 16, 3, 7] {
            let chunk = Array(p[start..<start + size])
            pieces += try model.forward([ForwardRequest(sequence: 0, tokens: chunk, logitIndices: Array(chunk.indices))], cache: cache2)[0]
            start += size
        }
        XCTAssertEqual(pieces.count, whole.count)
        for (a, b) in zip(pieces, whole) { XCTAssertLessThan(VectorMath.nmse(a, b), 1e-10) }
    }

    /// A call over more than `maxTokensPerPass` tokens runs as several passes; the logits come back
    /// identical and in the order (and multiplicity) the request asked for.
    func testLongCallRunsInPassesWithIdenticalLogits() throws {
        let long = prompt(LlamaModel.maxTokensPerPass * 2 + 9, salt: 8), short = prompt(20, salt: 9)
        let asked = [long.count - 1, 3, 100, 3, 64, 63]
        let cache = PagedKVCache(config: model.config, capacityTokens: 256, blockSizeTokens: 8)
        try cache.createSequence(0)
        try cache.createSequence(1)
        let out = try model.forward([ForwardRequest(sequence: 1, tokens: short, logitIndices: [19, 0]),
                                     ForwardRequest(sequence: 0, tokens: long, logitIndices: asked)], cache: cache)
        let stepwise = PagedKVCache(config: model.config, capacityTokens: 256, blockSizeTokens: 8)
        try stepwise.createSequence(0)
        var perPosition: [[Float]] = []
        for start in stride(from: 0, to: long.count, by: 10) {
            let piece = Array(long[start..<min(long.count, start + 10)])
            perPosition += try model.forward([ForwardRequest(sequence: 0, tokens: piece, logitIndices: Array(piece.indices))], cache: stepwise)[0]
        }
        XCTAssertEqual(out[1].count, asked.count)
        for (row, index) in zip(out[1], asked) { XCTAssertEqual(row, perPosition[index], "position \(index)") }
        XCTAssertEqual(out[0].count, 2)
        XCTAssertEqual(cache.table(0)!.tokenCount, long.count)
    }

    func testLongEarlyExitCallRunsInPassesOverTheShorterCache() throws {
        // An early-exit drafter's cache holds only its layers; a call longer than one pass must
        // keep to them in every pass.
        let layers = model.config.blockCount - 1
        let long = prompt(LlamaModel.maxTokensPerPass + 11, salt: 10)
        let cache = PagedKVCache(layerCount: layers, kvDimension: model.config.kvDimension, blockCount: 32, blockSizeTokens: 8)
        try cache.createSequence(0)
        let whole = try model.forward([ForwardRequest(sequence: 0, tokens: long)], cache: cache, layers: layers)[0][0]
        let stepwise = PagedKVCache(layerCount: layers, kvDimension: model.config.kvDimension, blockCount: 32, blockSizeTokens: 8)
        try stepwise.createSequence(0)
        _ = try model.forward([ForwardRequest(sequence: 0, tokens: Array(long.dropLast(20)))], cache: stepwise, layers: layers)
        let last = try model.forward([ForwardRequest(sequence: 0, tokens: Array(long.suffix(20)))], cache: stepwise, layers: layers)[0][0]
        XCTAssertEqual(whole, last)
    }

    func testPrefixSharingReusesBlocksAndKeepsLogits() throws {
        let shared = prompt(24, salt: 6)
        let cache = PagedKVCache(config: model.config, capacityTokens: 256, blockSizeTokens: 8)
        XCTAssertEqual(try cache.createSequence(0, prompt: shared + [1, 2]), 0)
        let first = try model.forward([ForwardRequest(sequence: 0, tokens: shared + [1, 2])], cache: cache)[0][0]
        _ = first
        let second = shared + [5, 6, 7]
        let cached = try cache.createSequence(1, prompt: second)
        XCTAssertEqual(cached, 24, "three full blocks of 8 are shared")
        XCTAssertEqual(cache.table(1)!.blocks.prefix(3), cache.table(0)!.blocks.prefix(3))
        XCTAssertEqual(cache.refcount(ofBlock: cache.table(0)!.blocks[0]), 2)
        let reused = try model.forward([ForwardRequest(sequence: 1, tokens: Array(second[cached...]))], cache: cache)[0][0]
        let fresh = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
        try fresh.createSequence(0)
        let expected = try model.forward([ForwardRequest(sequence: 0, tokens: second)], cache: fresh)[0][0]
        XCTAssertLessThan(VectorMath.nmse(reused, expected), 1e-10)
    }

    func testAForkContinuesBesideItsParentInOneCallAndCanReplaceIt() throws {
        // 19 tokens in blocks of 8: two full blocks shared, the partial third copied.
        let p = prompt(19, salt: 9)
        let cache = PagedKVCache(config: model.config, capacityTokens: 256, blockSizeTokens: 8)
        try cache.createSequence(0)
        _ = try model.forward([ForwardRequest(sequence: 0, tokens: p)], cache: cache)
        let free = cache.freeBlockCount
        try cache.fork(0, into: -1)
        XCTAssertEqual(cache.table(-1)!.blocks.prefix(2), cache.table(0)!.blocks.prefix(2))
        XCTAssertNotEqual(cache.table(-1)!.blocks[2], cache.table(0)!.blocks[2])
        XCTAssertEqual(cache.refcount(ofBlock: cache.table(0)!.blocks[0]), 2)
        XCTAssertEqual(cache.freeBlockCount, free - 1, "only the partial block is copied")
        // Parent and fork extend differently in one call; each matches a sequence computed alone.
        let logits = try model.forward([ForwardRequest(sequence: 0, tokens: [1, 2, 3, 4, 5, 6], logitIndices: [5]),
                                        ForwardRequest(sequence: -1, tokens: [7, 8], logitIndices: [1])], cache: cache)
        for (tail, row) in [([Int32]([1, 2, 3, 4, 5, 6]), logits[0][0]), ([7, 8], logits[1][0])] {
            let alone = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
            try alone.createSequence(0)
            let expected = try model.forward([ForwardRequest(sequence: 0, tokens: p + tail)], cache: alone)[0][0]
            XCTAssertLessThan(VectorMath.nmse(row, expected), 1e-10, "tail \(tail)")
        }
        // The parent takes the fork's blocks; then both tables' blocks are back when it goes.
        try cache.replace(0, with: -1)
        XCTAssertNil(cache.table(-1))
        XCTAssertEqual(cache.table(0)!.tokens, p + [7, 8])
        XCTAssertEqual(cache.refcount(ofBlock: cache.table(0)!.blocks[0]), 1)
        cache.release(0)
        XCTAssertEqual(cache.freeBlockCount, cache.blockCount)
        XCTAssertThrowsError(try cache.fork(5, into: -2))
    }

    func testExportImportContinuesIdentically() throws {
        let p = prompt(19, salt: 8)
        let a = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
        try a.createSequence(0)
        _ = try model.forward([ForwardRequest(sequence: 0, tokens: p)], cache: a)
        let bytes = try a.exportBlocks(0)
        XCTAssertEqual(bytes.count, 3 * a.blockBytes)
        // The other ways to read the same blocks: into a buffer, and in place block by block.
        var copied = [UInt8](repeating: 0, count: 2 * a.blockBytes)
        try copied.withUnsafeMutableBytes { try a.exportBlocks(0, from: 1, to: 3, into: $0) }
        XCTAssertEqual(copied, Array(bytes[a.blockBytes...]))
        var inPlace: [UInt8] = []
        try a.forEachBlock(0, from: 0, to: 3) { inPlace += $0 }
        XCTAssertEqual(inPlace, bytes)
        XCTAssertThrowsError(try a.forEachBlock(0, from: 2, to: 4) { _ in })
        let b = PagedKVCache(config: model.config, capacityTokens: 128, blockSizeTokens: 8)
        try b.importBlocks(4, tokens: p, blobs: [Array(bytes[..<b.blockBytes]), Array(bytes[b.blockBytes...])])
        let la = try model.forward([ForwardRequest(sequence: 0, tokens: [11])], cache: a)[0][0]
        let lb = try model.forward([ForwardRequest(sequence: 4, tokens: [11])], cache: b)[0][0]
        XCTAssertEqual(la, lb)
        XCTAssertThrowsError(try b.importBlocks(5, tokens: p, blobs: [Array(bytes.dropLast())]))
    }

    func testRefusesBadTokensAndUnknownSequences() throws {
        let cache = PagedKVCache(config: model.config, capacityTokens: 32, blockSizeTokens: 8)
        XCTAssertThrowsError(try model.forward([ForwardRequest(sequence: 9, tokens: [1])], cache: cache))
        try cache.createSequence(0)
        // A refused call leaves the cache as it was.
        XCTAssertThrowsError(try model.forward([ForwardRequest(sequence: 0, tokens: [1, 999])], cache: cache))
        XCTAssertThrowsError(try model.forward([ForwardRequest(sequence: 0, tokens: Array(repeating: 1, count: 40))], cache: cache)) {
            XCTAssertEqual($0 as? KVCacheError, .outOfBlocks(needed: 5, free: 4))
        }
        XCTAssertEqual(cache.table(0)!.tokenCount, 0)
        XCTAssertEqual(cache.freeBlockCount, 4)
        XCTAssertThrowsError(try cache.append(0, tokens: Array(repeating: 1, count: 40))) {
            XCTAssertEqual($0 as? KVCacheError, .outOfBlocks(needed: 5, free: 4))
        }
    }
}
