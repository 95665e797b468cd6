/// What a worker reports of its load in HEARTBEAT, beyond its running job count, so the router
/// can route by it and operators can scale by it (spec: "Worker load"). A decode worker reports
/// its KV cache: free and total blocks, sequences running and waiting, and the prefix hashes of
/// the full blocks it holds (`PagedKVCache`'s chained hashes), which the router matches against a
/// prompt's to send it where its prefix is cached. A draft worker reports what it drafts with and
/// how busy it is (`Drafting`), which decode workers read from the router's worker list.
///
/// Readers ignore keys they do not know, so a worker may report more than this build reads.
public struct WorkerLoad: Sendable, Equatable {
    /// The worker's KV cache (nil for a worker without one, such as a draft worker).
    public var kvCache: KVCache?
    public var runningSequences: Int
    public var waitingSequences: Int
    /// At most `maxPrefixes`, most recently used first.
    public var prefixHashes: [UInt64]
    /// Speculative decoding since the worker started, if it speculates.
    public var speculation: Speculation?
    /// A draft worker's methods and load.
    public var drafting: Drafting?

    /// A KV cache's size and room, in blocks.
    public struct KVCache: Sendable, Equatable {
        public var freeBlocks: Int
        public var totalBlocks: Int
        public var blockSizeTokens: Int
        public init(freeBlocks: Int, totalBlocks: Int, blockSizeTokens: Int) {
            self.freeBlocks = freeBlocks; self.totalBlocks = totalBlocks; self.blockSizeTokens = blockSizeTokens
        }
    }

    /// Cumulative counts of speculative decoding: steps that verified drafts, drafts verified,
    /// drafts accepted, and drafting rounds a draft worker answered or left to the decode worker.
    public struct Speculation: Sendable, Equatable {
        public var verifications: Int
        public var draftedTokens: Int
        public var acceptedTokens: Int
        public var remoteRounds: Int
        public var unansweredRounds: Int
        public init(verifications: Int, draftedTokens: Int, acceptedTokens: Int, remoteRounds: Int = 0, unansweredRounds: Int = 0) {
            self.verifications = verifications; self.draftedTokens = draftedTokens; self.acceptedTokens = acceptedTokens
            self.remoteRounds = remoteRounds; self.unansweredRounds = unansweredRounds
        }
    }

    /// 32 KiB of hashes, half the header limit.
    public static let maxPrefixes = 4096

    /// A decode worker's load.
    public init(freeBlocks: Int, totalBlocks: Int, blockSizeTokens: Int, runningSequences: Int, waitingSequences: Int, prefixHashes: [UInt64] = [],
                speculation: Speculation? = nil) {
        self.init(kvCache: KVCache(freeBlocks: freeBlocks, totalBlocks: totalBlocks, blockSizeTokens: blockSizeTokens),
                  runningSequences: runningSequences, waitingSequences: waitingSequences, prefixHashes: prefixHashes, speculation: speculation)
    }

    /// A draft worker's load.
    public init(drafting: Drafting) {
        self.init(kvCache: nil, runningSequences: 0, waitingSequences: 0, drafting: drafting)
    }

    init(kvCache: KVCache?, runningSequences: Int, waitingSequences: Int, prefixHashes: [UInt64] = [], speculation: Speculation? = nil,
         drafting: Drafting? = nil) {
        self.kvCache = kvCache
        self.runningSequences = runningSequences; self.waitingSequences = waitingSequences
        self.prefixHashes = Array(prefixHashes.prefix(Self.maxPrefixes))
        self.speculation = speculation
        self.drafting = drafting
    }

    var header: [String: WireValue] {
        var header: [String: WireValue] = [:]
        if let kv = kvCache {
            var bytes = [UInt8](repeating: 0, count: prefixHashes.count * 8)
            for (i, hash) in prefixHashes.enumerated() {
                for b in 0..<8 { bytes[i * 8 + b] = UInt8(truncatingIfNeeded: hash >> (8 * UInt64(b))) }
            }
            header = [
                "kv_free_blocks": .int(Int64(kv.freeBlocks)), "kv_total_blocks": .int(Int64(kv.totalBlocks)),
                "kv_block_tokens": .int(Int64(kv.blockSizeTokens)), "sequences": .int(Int64(runningSequences)),
                "waiting": .int(Int64(waitingSequences)), "prefixes": .binary(bytes),
            ]
        }
        if let s = speculation {
            header["spec_verifications"] = .int(Int64(s.verifications))
            header["spec_drafted"] = .int(Int64(s.draftedTokens))
            header["spec_accepted"] = .int(Int64(s.acceptedTokens))
            header["spec_remote_rounds"] = .int(Int64(s.remoteRounds))
            header["spec_unanswered_rounds"] = .int(Int64(s.unansweredRounds))
        }
        if let d = drafting { header.merge(d.header) { _, new in new } }
        return header
    }

    init(header: [String: WireValue]) throws(WireError) {
        let fields = HeaderFields(header)
        var kvCache: KVCache?
        let kvKeys = ["kv_free_blocks", "kv_total_blocks", "kv_block_tokens"]
        let present = kvKeys.filter { header[$0] != nil }
        if !present.isEmpty {
            guard present.count == kvKeys.count else { throw .invalidField("load", "kv_free_blocks, kv_total_blocks and kv_block_tokens go together") }
            let free: Int = try fields.integer("kv_free_blocks"), total: Int = try fields.integer("kv_total_blocks")
            let blockSize: Int = try fields.integer("kv_block_tokens")
            guard free >= 0, total >= free, blockSize >= 1 else { throw .invalidField("load", "needs 0 <= kv_free_blocks <= kv_total_blocks and kv_block_tokens >= 1") }
            kvCache = KVCache(freeBlocks: free, totalBlocks: total, blockSizeTokens: blockSize)
        }
        var hashes: [UInt64] = []
        switch header["prefixes"] {
        case nil, .null?: break
        case .binary(let bytes)?:
            guard bytes.count % 8 == 0, bytes.count / 8 <= Self.maxPrefixes else { throw .invalidField("prefixes", "8-byte hashes, at most \(Self.maxPrefixes)") }
            hashes = (0..<bytes.count / 8).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i * 8 + $1]) << (8 * UInt64($1)) } }
        default:
            throw .invalidField("prefixes", "expected binary")
        }
        var speculation: Speculation?
        if let verifications: Int = try fields.optionalInteger("spec_verifications") {
            let drafted: Int = try fields.optionalInteger("spec_drafted") ?? 0, accepted: Int = try fields.optionalInteger("spec_accepted") ?? 0
            let remote: Int = try fields.optionalInteger("spec_remote_rounds") ?? 0, unanswered: Int = try fields.optionalInteger("spec_unanswered_rounds") ?? 0
            guard verifications >= 0, drafted >= 0, accepted >= 0, accepted <= drafted, remote >= 0, unanswered >= 0 else {
                throw .invalidField("load", "speculation counts are non-negative and spec_accepted <= spec_drafted")
            }
            speculation = Speculation(verifications: verifications, draftedTokens: drafted, acceptedTokens: accepted, remoteRounds: remote,
                                      unansweredRounds: unanswered)
        }
        let running: Int = try fields.optionalInteger("sequences") ?? 0, waiting: Int = try fields.optionalInteger("waiting") ?? 0
        self.init(kvCache: kvCache, runningSequences: running, waitingSequences: waiting, prefixHashes: hashes, speculation: speculation,
                  drafting: try Drafting(header: header))
    }
}
