/// Keys and values of many sequences in fixed-size blocks, with a block table per sequence.
///
/// - A block holds `blockSizeTokens` positions of every layer: `[layer][key|value][slot][kvDim]`
///   floats, so one block is one contiguous byte range (export, import and snapshots copy it whole).
/// - Full blocks are sealed: their prefix hash (hash of every token up to the block's end) is
///   registered, and they are never written again. A new sequence whose prompt starts with the
///   same tokens adopts them (reference counted) instead of recomputing them.
/// - Released sealed blocks stay cached until their space is needed (oldest first).
///
/// Not thread-safe: one owner (a decode or prefill worker) drives it.
public final class PagedKVCache: @unchecked Sendable {
    public let blockSizeTokens: Int
    public let blockCount: Int
    public let layerCount: Int
    public let kvDimension: Int
    /// Floats per block.
    public let blockFloats: Int
    public var blockBytes: Int { blockFloats * MemoryLayout<Float>.size }
    public let storage: UnsafeMutablePointer<Float>
    /// Where `storage` lives: only the blocks ever written become resident.
    private let mapping: AnonymousMapping

    private var refcounts: [Int]
    private var blockHash: [UInt64?]
    private var blockTokens: [[Int32]]
    private var freeBlocks: [Int]
    /// Sealed blocks nobody uses, oldest first: reclaimed when `freeBlocks` runs out.
    private var cachedIdle: [Int] = []
    private var byHash: [UInt64: Int] = [:]
    private var tables: [Int: KVBlockTable] = [:]
    public private(set) var prefixHits = 0

    public init(layerCount: Int, kvDimension: Int, blockCount: Int, blockSizeTokens: Int = 16) {
        self.layerCount = layerCount
        self.kvDimension = kvDimension
        self.blockCount = blockCount
        self.blockSizeTokens = blockSizeTokens
        blockFloats = layerCount * 2 * blockSizeTokens * kvDimension
        mapping = AnonymousMapping(byteCount: blockCount * blockFloats * MemoryLayout<Float>.stride, hugePages: false)
        storage = mapping.base.bindMemory(to: Float.self, capacity: blockCount * blockFloats)
        refcounts = Array(repeating: 0, count: blockCount)
        blockHash = Array(repeating: nil, count: blockCount)
        blockTokens = Array(repeating: [], count: blockCount)
        freeBlocks = Array((0..<blockCount).reversed())
    }

    /// A cache for `config` holding `tokens` positions in all.
    public convenience init(config: LlamaConfig, capacityTokens: Int, blockSizeTokens: Int = 16) {
        self.init(layerCount: config.blockCount, kvDimension: config.kvDimension,
                  blockCount: (capacityTokens + blockSizeTokens - 1) / blockSizeTokens, blockSizeTokens: blockSizeTokens)
    }


    public var freeBlockCount: Int { freeBlocks.count + cachedIdle.count }
    public func table(_ sequence: Int) -> KVBlockTable? { tables[sequence] }
    public func contains(_ sequence: Int) -> Bool { tables[sequence] != nil }
    public func refcount(ofBlock block: Int) -> Int { refcounts[block] }

    /// Pointer to the key of `slot` in `block` for `layer`.
    @inline(__always)
    public func key(block: Int, layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        storage + block * blockFloats + (layer * 2 * blockSizeTokens + slot) * kvDimension
    }

    @inline(__always)
    public func value(block: Int, layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        storage + block * blockFloats + ((layer * 2 + 1) * blockSizeTokens + slot) * kvDimension
    }

    // MARK: sequences

    /// Starts an empty sequence.
    public func createSequence(_ id: Int) throws {
        guard tables[id] == nil else { throw KVCacheError.sequenceExists(id) }
        tables[id] = KVBlockTable()
    }

    /// Starts a sequence for `prompt`, adopting every cached full block of its prefix; returns how
    /// many prompt tokens are already in the cache (always fewer than the prompt, so the last
    /// token is computed and yields logits).
    @discardableResult
    public func createSequence(_ id: Int, prompt: [Int32]) throws -> Int {
        try createSequence(id)
        var table = KVBlockTable()
        var hash = Self.seedHash
        var b = 0
        while (b + 1) * blockSizeTokens < prompt.count {
            let chunk = Array(prompt[b * blockSizeTokens..<(b + 1) * blockSizeTokens])
            hash = Self.chain(hash, chunk)
            guard let block = byHash[hash], blockTokens[block] == chunk else { break }
            if refcounts[block] == 0, let i = cachedIdle.firstIndex(of: block) { cachedIdle.remove(at: i) }
            refcounts[block] += 1
            table.blocks.append(block)
            table.tokens.append(contentsOf: chunk)
            table.sealedBlocks += 1
            prefixHits += 1
            b += 1
        }
        tables[id] = table
        return table.tokenCount
    }

    /// Frees a sequence's blocks (sealed ones stay cached for later prefixes).
    public func release(_ id: Int) {
        guard let table = tables.removeValue(forKey: id) else { return }
        for block in table.blocks { decrement(block) }
    }

    /// Makes room for `tokens` more positions of `id` and returns the (block, slot) of each.
    /// The tokens are recorded; their keys and values must then be written by the forward pass.
    public func append(_ id: Int, tokens newTokens: [Int32]) throws -> [(block: Int, slot: Int)] {
        guard var table = tables[id] else { throw KVCacheError.unknownSequence(id) }
        let total = table.tokenCount + newTokens.count
        let neededBlocks = (total + blockSizeTokens - 1) / blockSizeTokens - table.blocks.count
        guard neededBlocks <= freeBlockCount else { throw KVCacheError.outOfBlocks(needed: neededBlocks, free: freeBlockCount) }
        for _ in 0..<max(0, neededBlocks) { table.blocks.append(try allocate()) }
        var slots: [(Int, Int)] = []
        slots.reserveCapacity(newTokens.count)
        for i in 0..<newTokens.count {
            let position = table.tokenCount + i
            slots.append((table.blocks[position / blockSizeTokens], position % blockSizeTokens))
        }
        table.tokens.append(contentsOf: newTokens)
        tables[id] = table
        return slots
    }

    /// Seals the sequence's newly full blocks (call after their keys and values are written).
    public func sealFullBlocks(_ id: Int) {
        guard var table = tables[id] else { return }
        var hash = Self.seedHash
        for b in 0..<table.sealedBlocks {
            hash = Self.chain(hash, Array(table.tokens[b * blockSizeTokens..<(b + 1) * blockSizeTokens]))
        }
        while (table.sealedBlocks + 1) * blockSizeTokens <= table.tokenCount {
            let b = table.sealedBlocks
            let chunk = Array(table.tokens[b * blockSizeTokens..<(b + 1) * blockSizeTokens])
            hash = Self.chain(hash, chunk)
            let block = table.blocks[b]
            if byHash[hash] == nil {
                byHash[hash] = block
                blockHash[block] = hash
                blockTokens[block] = chunk
            }
            table.sealedBlocks += 1
        }
        tables[id] = table
    }

    /// Keeps the first `count` positions of a sequence and drops the rest (rejected speculative
    /// tokens).
    ///
    /// A block is immutable only once it is full and its tokens are kept: the forward pass seals
    /// every block its tokens fill, drafts included, so a sealed block that truncation leaves
    /// partial is unsealed here before its free slots are written again — its prefix hash is
    /// forgotten, or, if another sequence adopted it meanwhile, this sequence takes a private copy.
    public func truncate(_ id: Int, toTokenCount count: Int) throws {
        guard var table = tables[id] else { throw KVCacheError.unknownSequence(id) }
        guard count < table.tokenCount else { return }
        table.tokens.removeLast(table.tokenCount - count)
        let keep = (count + blockSizeTokens - 1) / blockSizeTokens
        while table.blocks.count > keep { decrement(table.blocks.removeLast()) }
        let full = count / blockSizeTokens
        if table.sealedBlocks > full, full < table.blocks.count {
            let block = table.blocks[full]
            if refcounts[block] == 1 {
                if let h = blockHash[block], byHash[h] == block { byHash[h] = nil }
                blockHash[block] = nil
                blockTokens[block] = []
            } else {
                let copy = try allocate()
                (storage + copy * blockFloats).update(from: storage + block * blockFloats, count: blockFloats)
                decrement(block)
                table.blocks[full] = copy
            }
        }
        table.sealedBlocks = min(table.sealedBlocks, full)
        tables[id] = table
    }

    /// Starts `child` as a copy of `parent` that shares the parent's full blocks (reference
    /// counted) and gets a private copy of its partial last block, so both can be extended in the
    /// same forward call: a candidate draft chain verified beside the parent's own (multi-draft).
    public func fork(_ parent: Int, into child: Int) throws {
        guard var table = tables[parent] else { throw KVCacheError.unknownSequence(parent) }
        guard tables[child] == nil else { throw KVCacheError.sequenceExists(child) }
        let full = table.tokenCount / blockSizeTokens
        if full < table.blocks.count {
            let copy = try allocate()
            (storage + copy * blockFloats).update(from: storage + table.blocks[full] * blockFloats, count: blockFloats)
            table.blocks[full] = copy
        }
        for block in table.blocks[..<full] { refcounts[block] += 1 }
        table.sealedBlocks = min(table.sealedBlocks, full)
        tables[child] = table
    }

    /// Gives `id` the blocks of `fork` (its accepted candidate chain) in place of its own, and
    /// ends `fork`.
    public func replace(_ id: Int, with fork: Int) throws {
        guard let old = tables[id] else { throw KVCacheError.unknownSequence(id) }
        guard let replacement = tables.removeValue(forKey: fork) else { throw KVCacheError.unknownSequence(fork) }
        for block in old.blocks { decrement(block) }
        tables[id] = replacement
    }

    // MARK: export / import

    /// The raw bytes of a sequence's blocks, in table order (`blockBytes` each); positions past
    /// the sequence's length in its last block are included as stored.
    public func exportBlocks(_ id: Int) throws -> [UInt8] {
        guard let table = tables[id] else { throw KVCacheError.unknownSequence(id) }
        return try exportBlocks(id, from: 0, to: table.blocks.count)
    }

    /// The raw bytes of the sequence's blocks `from..<to` in table order (a prefill worker sends
    /// the blocks a chunk filled while it computes the next).
    public func exportBlocks(_ id: Int, from: Int, to: Int) throws -> [UInt8] {
        let blocks = try blockRange(id, from: from, to: to)
        return [UInt8](unsafeUninitializedCapacity: blocks.count * blockBytes) { dst, count in
            copyBlocks(blocks, into: UnsafeMutableRawBufferPointer(dst))
            count = blocks.count * blockBytes
        }
    }

    /// Copies the sequence's blocks `from..<to` into `buffer` (`(to - from) * blockBytes` bytes):
    /// straight into a message buffer, without an array in between.
    public func exportBlocks(_ id: Int, from: Int, to: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        let blocks = try blockRange(id, from: from, to: to)
        guard buffer.count == blocks.count * blockBytes else { throw KVCacheError.badImport("a \(buffer.count)-byte buffer for \(blocks.count) blocks") }
        copyBlocks(blocks, into: buffer)
    }

    /// Calls `body` with the raw bytes of each of the sequence's blocks `from..<to`, in table
    /// order: what `exportBlocks` copies, read in place (to checksum what was sent).
    public func forEachBlock(_ id: Int, from: Int, to: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        for block in try blockRange(id, from: from, to: to) {
            body(UnsafeRawBufferPointer(start: UnsafeRawPointer(storage + block * blockFloats), count: blockBytes))
        }
    }

    private func blockRange(_ id: Int, from: Int, to: Int) throws -> ArraySlice<Int> {
        guard let table = tables[id] else { throw KVCacheError.unknownSequence(id) }
        guard 0 <= from, from <= to, to <= table.blocks.count else {
            throw KVCacheError.blockRange(from: from, to: to, blocks: table.blocks.count)
        }
        return table.blocks[from..<to]
    }

    private func copyBlocks(_ blocks: ArraySlice<Int>, into buffer: UnsafeMutableRawBufferPointer) {
        for (i, block) in blocks.enumerated() {
            (buffer.baseAddress! + i * blockBytes).copyMemory(from: UnsafeRawPointer(storage + block * blockFloats), byteCount: blockBytes)
        }
    }

    /// Creates sequence `id` holding `tokens` from bytes made by `exportBlocks` (of a cache with the
    /// same layout), and seals its full blocks. The bytes may come in several blobs, each of whole
    /// blocks, in order (the parts of a streamed handoff), so they need not be joined first.
    public func importBlocks(_ id: Int, tokens: [Int32], blobs: [[UInt8]]) throws {
        let blocksNeeded = (tokens.count + blockSizeTokens - 1) / blockSizeTokens
        let byteCount = blobs.reduce(0) { $0 + $1.count }
        guard byteCount == blocksNeeded * blockBytes, blobs.allSatisfy({ $0.count % blockBytes == 0 }) else {
            throw KVCacheError.badImport("\(byteCount) bytes in \(blobs.count) blobs for \(tokens.count) tokens (expected \(blocksNeeded * blockBytes) in whole blocks)")
        }
        try createSequence(id)
        do {
            let slots = try append(id, tokens: tokens)
            _ = slots
        } catch {
            release(id)
            throw error
        }
        var blocks = tables[id]!.blocks[...]
        for blob in blobs {
            blob.withUnsafeBytes { src in
                for offset in stride(from: 0, to: src.count, by: blockBytes) {
                    UnsafeMutableRawPointer(storage + blocks.removeFirst() * blockFloats).copyMemory(from: src.baseAddress! + offset, byteCount: blockBytes)
                }
            }
        }
        sealFullBlocks(id)
    }

    // MARK: blocks

    private func allocate() throws -> Int {
        if let b = freeBlocks.popLast() {
            refcounts[b] = 1
            return b
        }
        guard !cachedIdle.isEmpty else { throw KVCacheError.outOfBlocks(needed: 1, free: 0) }
        let b = cachedIdle.removeFirst()
        if let h = blockHash[b], byHash[h] == b { byHash[h] = nil }
        blockHash[b] = nil
        blockTokens[b] = []
        refcounts[b] = 1
        return b
    }

    private func decrement(_ block: Int) {
        refcounts[block] -= 1
        guard refcounts[block] == 0 else { return }
        if blockHash[block] != nil { cachedIdle.append(block) } else { freeBlocks.append(block) }
    }

    // MARK: prefix hash

    /// The prefix hashes of every full block held (in use or cached idle): what a decode worker
    /// reports so the router can send a prompt where its prefix is cached.
    public var cachedPrefixHashes: [UInt64] { Array(byHash.keys) }

    /// The prefix hash after each full block of `tokens` that `createSequence(_:prompt:)` could
    /// adopt (never the block holding the last token, which is always computed).
    public static func prefixHashes(of tokens: [Int32], blockSizeTokens: Int) -> [UInt64] {
        var hashes: [UInt64] = []
        var hash = seedHash
        var b = 0
        while (b + 1) * blockSizeTokens < tokens.count {
            hash = chain(hash, Array(tokens[b * blockSizeTokens..<(b + 1) * blockSizeTokens]))
            hashes.append(hash)
            b += 1
        }
        return hashes
    }

    static let seedHash: UInt64 = 0xCBF2_9CE4_8422_2325

    /// The hash of a prefix extended by one block of tokens (FNV-1a over the token bytes, chained;
    /// block contents are compared too, so a collision cannot alias two prefixes).
    static func chain(_ hash: UInt64, _ tokens: [Int32]) -> UInt64 {
        var h = hash
        for t in tokens {
            var v = UInt32(bitPattern: t)
            for _ in 0..<4 {
                h ^= UInt64(v & 0xFF)
                h = h &* 0x0000_0100_0000_01B3
                v >>= 8
            }
        }
        return h
    }
}
