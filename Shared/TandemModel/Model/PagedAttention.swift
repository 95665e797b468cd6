import TandemKernels

/// Causal attention of a forward call's queries over the paged KV cache, for one layer.
///
/// The work is split by head and by runs of up to `runTokens` consecutive tokens of one sequence:
/// a verification step's k + 1 tokens (or a prefill chunk's) then read each key and value row of
/// the sequence once per head, for all of them, while it sits in L1, instead of once per token.
/// A single decode token is one run, so plain decoding splits by head as before. Every query's
/// scores (`ctk_attention_scores`, whose result for a query and key does not depend on what else
/// the call holds), softmax and weighted sum are the same operations in the same order as one
/// query and one key at a time (`computeReference`), so the output is bit for bit the same.
enum PagedAttention {
    /// Tokens per run at most: the queries of a run and one key block stay in L1.
    static let runTokens = 16

    struct Shape {
        var heads: Int
        var kvHeads: Int
        var headDimension: Int
        /// Floats from one token's queries (or outputs) to the next's.
        var queryStride: Int
    }

    /// Runs of consecutive tokens of one sequence, at most `runTokens` long.
    static func runs(sequenceOfToken: [Int]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        for t in 1...sequenceOfToken.count where t == sequenceOfToken.count || sequenceOfToken[t] != sequenceOfToken[start] || t - start == runTokens {
            out.append(start..<t)
            start = t
        }
        return out
    }

    /// `out[t]` ← attention of `q[t]` over the first `positions[t] + 1` keys and values of its
    /// sequence's blocks (`blockTables[sequenceOfToken[t]]`) in `layer`.
    static func compute(layer: Int, shape: Shape, q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, positions: [Int],
                        sequenceOfToken: [Int], blockTables: [[Int]], cache: PagedKVCache, pool: ComputePool) {
        let runs = runs(sequenceOfToken: sequenceOfToken)
        let hd = shape.headDimension, group = shape.heads / shape.kvHeads, kvStride = cache.kvDimension
        let scale = 1 / Float(hd).squareRoot()
        let bs = cache.blockSizeTokens
        nonisolated(unsafe) let q = q, out = out
        pool.run(chunkCount: runs.count * shape.heads) { chunk in
            let run = runs[chunk / shape.heads], head = chunk % shape.heads
            let kvHead = head / group
            let table = blockTables[sequenceOfToken[run.lowerBound]]
            // Token t attends to keys 0...positions[t]; the run's scores rows are `width` wide.
            var width = 0
            for t in run { width = max(width, positions[t] + 1) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: run.count * width) { buffer in
                let scores = buffer.baseAddress!
                // Scores, a cache block at a time: each group of keys serves every query of the run
                // while it is in L1. Keys past a query's position get scores too (at most the run's
                // length of them), which its softmax and weighted sum never read.
                let first = q + run.lowerBound * shape.queryStride + head * hd
                var j = 0
                for block in table where j < width {
                    let n = min(bs, width - j)
                    VectorMath.attentionScores(q: first, queryStride: shape.queryStride, queries: run.count, keys: cache.key(block: block, layer: layer, slot: 0) + kvHead * hd,
                                               keyStride: kvStride, keyCount: n, dimension: hd, scale: scale, into: scores + j, scoreStride: width)
                    j += n
                }
                for (r, t) in run.enumerated() { VectorMath.softmax(scores + r * width, count: positions[t] + 1) }
                // Weighted values, block by block: each value block is read once for every query.
                for t in run { (out + t * shape.queryStride + head * hd).initialize(repeating: 0, count: hd) }
                j = 0
                for block in table where j < width {
                    let n = min(bs, width - j)
                    let values = UnsafePointer(cache.value(block: block, layer: layer, slot: 0) + kvHead * hd)
                    for (r, t) in run.enumerated() where j <= positions[t] {
                        VectorMath.addWeightedRows(out + t * shape.queryStride + head * hd, rows: values, stride: kvStride,
                                                   weights: scores + r * width + j, count: min(n, positions[t] + 1 - j), width: hd)
                    }
                    j += n
                }
            }
        }
    }

    /// The plain twin: one query at a time, every key and value row read for each.
    static func computeReference(layer: Int, shape: Shape, q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, positions: [Int],
                                 sequenceOfToken: [Int], blockTables: [[Int]], cache: PagedKVCache) {
        let hd = shape.headDimension, group = shape.heads / shape.kvHeads, kvStride = cache.kvDimension
        let scale = 1 / Float(hd).squareRoot()
        let bs = cache.blockSizeTokens
        for t in positions.indices {
            for head in 0..<shape.heads {
                let table = blockTables[sequenceOfToken[t]]
                let length = positions[t] + 1
                let qh = q + t * shape.queryStride + head * hd
                let o = out + t * shape.queryStride + head * hd
                var scores = [Float](repeating: 0, count: length)
                var j = 0
                for block in table where j < length {
                    let n = min(bs, length - j)
                    scores.withUnsafeMutableBufferPointer { s in
                        for slot in 0..<n {
                            VectorMath.attentionScores(q: qh, queryStride: hd, queries: 1, keys: cache.key(block: block, layer: layer, slot: slot) + (head / group) * hd,
                                                       keyStride: kvStride, keyCount: 1, dimension: hd, scale: scale, into: s.baseAddress! + j + slot, scoreStride: 1)
                        }
                    }
                    j += n
                }
                scores.withUnsafeMutableBufferPointer { VectorMath.softmax($0.baseAddress!, count: length) }
                o.initialize(repeating: 0, count: hd)
                j = 0
                for block in table where j < length {
                    let n = min(bs, length - j)
                    scores.withUnsafeBufferPointer { s in
                        VectorMath.addWeightedRows(o, rows: cache.value(block: block, layer: layer, slot: 0) + (head / group) * hd, stride: kvStride,
                                                   weights: s.baseAddress! + j, count: n, width: hd)
                    }
                    j += n
                }
            }
        }
    }
}
