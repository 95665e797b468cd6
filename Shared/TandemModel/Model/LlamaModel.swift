import TandemKernels

/// A Llama model over a memory-mapped GGUF file, with a batch-first forward pass.
///
/// One `forward` call takes many sequences, each with its own positions and any number of new
/// tokens, reads every weight matrix once for all of them, writes their keys and values into a
/// `PagedKVCache`, and returns logits for the positions asked. Prefill, continuous-batching
/// decode and speculative verification are all this one call.
///
/// ```swift
/// let model = try LlamaModel(path: "models/SmolLM2-135M-Instruct.Q4_1.gguf", threads: 2)
/// let cache = PagedKVCache(config: model.config, capacityTokens: 4096)
/// try cache.createSequence(0)
/// let logits = try model.forward([ForwardRequest(sequence: 0, tokens: prompt)], cache: cache)
/// ```
public final class LlamaModel: @unchecked Sendable {
    /// The file's bytes, which the unpacked weights point into (the parsed metadata is not kept).
    public let mapping: GGUFMapping
    public let config: LlamaConfig
    public let weights: LlamaWeights
    public let pool: ComputePool
    /// Logits of the last call's rows, reused (`forward` runs on one thread at a time: the pool
    /// requires it).
    private var logitsStorage: UnsafeMutablePointer<Float>?
    private var logitsCapacity = 0

    public init(file: GGUFFile, threads: Int) throws {
        mapping = file.mapping
        config = try LlamaConfig(file: file)
        weights = try LlamaWeights(file: file, config: config)
        pool = ComputePool(threadCount: threads)
    }

    public convenience init(path: String, threads: Int) throws {
        try self.init(file: try GGUFFile(path: path), threads: threads)
    }

    deinit {
        pool.shutdown()
        logitsStorage?.deallocate()
    }

    /// Runs the batch and returns, per request, one logits vector (`vocabularySize` floats) per
    /// entry of its `logitIndices`.
    ///
    /// With `layers`, only the first that many blocks run before the output norm and head (early
    /// exit: the model drafting for itself); `cache` then needs only that many layers.
    public func forward(_ batch: [ForwardRequest], cache: PagedKVCache, layers: Int? = nil) throws -> [[[Float]]] {
        let layerCount = layers ?? config.blockCount
        precondition(layerCount >= 1 && layerCount <= config.blockCount && cache.layerCount >= layerCount, "layers beyond the model or the cache")
        let c = config
        let dim = c.embeddingLength, kvDim = c.kvDimension, hd = c.headDimension, ff = c.feedForwardLength
        let tokenCount = batch.reduce(0) { $0 + $1.tokens.count }
        guard tokenCount > 0 else { return batch.map { _ in [] } }

        // Validate everything before the cache is touched, so a refused call leaves it unchanged.
        precondition(Set(batch.map(\.sequence)).count == batch.count, "a sequence appears twice in one batch")
        for req in batch {
            guard let table = cache.table(req.sequence) else { throw KVCacheError.unknownSequence(req.sequence) }
            guard table.tokenCount + req.tokens.count <= c.contextLength else {
                throw KVCacheError.contextExceeded(table.tokenCount + req.tokens.count)
            }
            for token in req.tokens where token < 0 || Int(token) >= c.vocabularySize {
                throw TokenizerError.malformedVocabulary("token id \(token) out of range")
            }
        }
        let blocksNeeded = batch.reduce(0) { sum, req in
            let n = cache.table(req.sequence)!.tokenCount
            return sum + (n + req.tokens.count + cache.blockSizeTokens - 1) / cache.blockSizeTokens - (n + cache.blockSizeTokens - 1) / cache.blockSizeTokens
        }
        guard blocksNeeded <= cache.freeBlockCount else { throw KVCacheError.outOfBlocks(needed: blocksNeeded, free: cache.freeBlockCount) }
        if tokenCount > Self.maxTokensPerPass { return try forwardInPasses(batch, cache: cache, layers: layers) }

        // Positions and cache slots of every new token.
        var positions: [Int] = []
        var slots: [(block: Int, slot: Int)] = []
        var sequenceOfToken: [Int] = []
        positions.reserveCapacity(tokenCount)
        for (r, req) in batch.enumerated() {
            let start = cache.table(req.sequence)!.tokenCount
            slots += try cache.append(req.sequence, tokens: req.tokens)
            positions += (0..<req.tokens.count).map { start + $0 }
            sequenceOfToken += Array(repeating: r, count: req.tokens.count)
        }
        let blockTables = batch.map { cache.table($0.sequence)!.blocks }

        let scratch = ForwardScratch(tokens: tokenCount, config: c)
        defer { scratch.deallocate() }
        let x = scratch.x, h = scratch.h

        // Embeddings.
        var t = 0
        for req in batch {
            for token in req.tokens {
                weights.tokenEmbedding.dequantizeRow(Int(token), into: x + t * dim)
                t += 1
            }
        }

        for (layer, w) in weights.blocks.prefix(layerCount).enumerated() {
            // Attention.
            normalizeAndQuantize(x, weight: w.attentionNorm, tokens: tokenCount, scratch: scratch)
            Matmul.multiply([
                MatmulJob(weight: w.query, output: scratch.q, outputStride: dim),
                MatmulJob(weight: w.key, output: scratch.k, outputStride: kvDim),
                MatmulJob(weight: w.value, output: scratch.v, outputStride: kvDim),
            ], x: h, xq: scratch.xq, tokens: tokenCount, pool: pool)
            for t in 0..<tokenCount {
                VectorMath.rope(scratch.q + t * dim, heads: c.headCount, headDimension: hd, ropeDimension: c.ropeDimension, position: positions[t], base: c.ropeBase)
                VectorMath.rope(scratch.k + t * kvDim, heads: c.headCountKV, headDimension: hd, ropeDimension: c.ropeDimension, position: positions[t], base: c.ropeBase)
                let (block, slot) = slots[t]
                cache.key(block: block, layer: layer, slot: slot).update(from: scratch.k + t * kvDim, count: kvDim)
                cache.value(block: block, layer: layer, slot: slot).update(from: scratch.v + t * kvDim, count: kvDim)
            }
            PagedAttention.compute(layer: layer, shape: .init(heads: c.headCount, kvHeads: c.headCountKV, headDimension: hd, queryStride: dim),
                                   q: scratch.q, out: scratch.attention, positions: positions, sequenceOfToken: sequenceOfToken,
                                   blockTables: blockTables, cache: cache, pool: pool)
            scratch.xq.quantize(scratch.attention, count: tokenCount)
            Matmul.multiply([MatmulJob(weight: w.attentionOutput, output: h, outputStride: dim)],
                            x: scratch.attention, xq: scratch.xq, tokens: tokenCount, pool: pool)
            for i in 0..<tokenCount * dim { x[i] += h[i] }

            // Feed-forward (SwiGLU).
            normalizeAndQuantize(x, weight: w.feedForwardNorm, tokens: tokenCount, scratch: scratch)
            Matmul.multiply([
                MatmulJob(weight: w.gate, output: scratch.gate, outputStride: ff),
                MatmulJob(weight: w.up, output: scratch.up, outputStride: ff),
            ], x: h, xq: scratch.xq, tokens: tokenCount, pool: pool)
            VectorMath.swiGLU(scratch.gate, up: scratch.up, count: tokenCount * ff)
            scratch.xqWide.quantize(scratch.gate, count: tokenCount)
            Matmul.multiply([MatmulJob(weight: w.down, output: h, outputStride: dim)],
                            x: scratch.gate, xq: scratch.xqWide, tokens: tokenCount, pool: pool)
            for i in 0..<tokenCount * dim { x[i] += h[i] }
        }

        for req in batch { cache.sealFullBlocks(req.sequence) }

        // Logits for the asked positions only.
        var wanted: [(request: Int, token: Int)] = []
        var start = 0
        for (r, req) in batch.enumerated() {
            for i in req.logitIndices { precondition(i >= 0 && i < req.tokens.count, "logit index out of range"); wanted.append((r, start + i)) }
            start += req.tokens.count
        }
        var result: [[[Float]]] = batch.map { _ in [] }
        guard !wanted.isEmpty else { return result }
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: wanted.count * dim)
        defer { rows.deallocate() }
        weights.outputNorm.withUnsafeBufferPointer { norm in
            for (i, w) in wanted.enumerated() { VectorMath.rmsNorm(x + w.token * dim, weight: norm.baseAddress!, epsilon: c.rmsEpsilon, count: dim, into: rows + i * dim) }
        }
        let xq = QuantizedActivations(rows: wanted.count, columns: dim)
        defer { xq.deallocate() }
        xq.quantize(rows, count: wanted.count)
        let logits = logitsBuffer(rows: wanted.count)
        Matmul.multiply([MatmulJob(weight: weights.output, output: logits, outputStride: c.vocabularySize)],
                        x: rows, xq: xq, tokens: wanted.count, pool: pool)
        for (i, w) in wanted.enumerated() {
            result[w.request].append(Array(UnsafeBufferPointer(start: logits + i * c.vocabularySize, count: c.vocabularySize)))
        }
        return result
    }

    /// Room for `rows` logit rows, kept between calls: a fresh multi-megabyte buffer per decode
    /// step is mapped and zeroed by the kernel page by page (8 % of a 16-sequence step).
    private func logitsBuffer(rows: Int) -> UnsafeMutablePointer<Float> {
        let needed = rows * config.vocabularySize
        if logitsCapacity < needed {
            logitsStorage?.deallocate()
            logitsStorage = .allocate(capacity: needed)
            logitsCapacity = needed
        }
        return logitsStorage!
    }

    /// h ← RMSNorm(x) · weight for every token, and its 8-bit copy for the next products.
    private func normalizeAndQuantize(_ x: UnsafeMutablePointer<Float>, weight: [Float], tokens: Int, scratch: ForwardScratch) {
        let dim = config.embeddingLength
        weight.withUnsafeBufferPointer { norm in
            for t in 0..<tokens {
                VectorMath.rmsNorm(x + t * dim, weight: norm.baseAddress!, epsilon: config.rmsEpsilon, count: dim, into: scratch.h + t * dim)
            }
        }
        scratch.xq.quantize(scratch.h, count: tokens)
    }
}

/// Per-call activation buffers of a forward pass.
/// A forward call's activations, carved from one anonymous mapping: a prompt's call needs
/// megabytes for a moment, and malloc would keep them resident after the free (`AnonymousMapping`).
final class ForwardScratch {
    let x, h, q, k, v, attention, gate, up: UnsafeMutablePointer<Float>
    let xq: QuantizedActivations
    let xqWide: QuantizedActivations
    private let floats: AnonymousMapping

    init(tokens: Int, config c: LlamaConfig) {
        let dim = c.embeddingLength, kvDim = c.kvDimension, ff = c.feedForwardLength
        let counts = [dim, dim, dim, kvDim, kvDim, dim, ff, ff].map { tokens * $0 }
        floats = AnonymousMapping(byteCount: counts.reduce(0, +) * MemoryLayout<Float>.stride, hugePages: false)
        var next = floats.base.bindMemory(to: Float.self, capacity: counts.reduce(0, +))
        let buffers = counts.map { count -> UnsafeMutablePointer<Float> in
            defer { next += count }
            return next
        }
        (x, h, q, k, v, attention, gate, up) = (buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], buffers[5], buffers[6], buffers[7])
        xq = QuantizedActivations(rows: tokens, columns: dim)
        xqWide = QuantizedActivations(rows: tokens, columns: ff)
    }

    func deallocate() {
        xq.deallocate()
        xqWide.deallocate()
    }
}
