import TandemKernels
@testable import TandemModel
import XCTest

/// The run-grouped attention kernel against its one-query-at-a-time twin: bit for bit equal.
final class PagedAttentionTests: XCTestCase {
    func testRunsEqualTheOneQueryAtATimeTwin() throws {
        let shape = PagedAttention.Shape(heads: 6, kvHeads: 2, headDimension: 16, queryStride: 96)
        let layers = 2
        let cache = PagedKVCache(layerCount: layers, kvDimension: 32, blockCount: 64, blockSizeTokens: 8)
        for i in 0..<cache.blockCount * cache.blockFloats { cache.storage[i] = Float(CounterRNG.uniform(seed: 3, position: i)) * 2 - 1 }
        // Sequence 0: 37 cached positions, 9 new tokens (a verification step); sequence 1: a
        // 40-token prefill chunk (three runs); sequence 2: one decoding token.
        let tables = [Array(0..<6), Array(10..<15), Array(20..<23)]
        let positions = Array(28..<37) + Array(0..<40) + [17]
        let sequenceOfToken = Array(repeating: 0, count: 9) + Array(repeating: 1, count: 40) + [2]
        XCTAssertEqual(PagedAttention.runs(sequenceOfToken: sequenceOfToken), [0..<9, 9..<25, 25..<41, 41..<49, 49..<50])
        let count = positions.count * shape.queryStride
        let q = (0..<count).map { Float(CounterRNG.uniform(seed: 4, position: $0)) - 0.5 }
        var fast = [Float](repeating: .nan, count: count), reference = [Float](repeating: .nan, count: count)
        let pool = ComputePool(threadCount: 2)
        defer { pool.shutdown() }
        for layer in 0..<layers {
            q.withUnsafeBufferPointer { q in
                fast.withUnsafeMutableBufferPointer {
                    PagedAttention.compute(layer: layer, shape: shape, q: q.baseAddress!, out: $0.baseAddress!, positions: positions,
                                           sequenceOfToken: sequenceOfToken, blockTables: tables, cache: cache, pool: pool)
                }
                reference.withUnsafeMutableBufferPointer {
                    PagedAttention.computeReference(layer: layer, shape: shape, q: q.baseAddress!, out: $0.baseAddress!, positions: positions,
                                                    sequenceOfToken: sequenceOfToken, blockTables: tables, cache: cache)
                }
            }
            XCTAssertEqual(fast, reference, "layer \(layer)")
            XCTAssertFalse(fast.contains { $0.isNaN })
        }
    }
}
