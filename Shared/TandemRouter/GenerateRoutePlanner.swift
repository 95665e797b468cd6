import TandemWire

/// Picks the decode worker for one generation and where its prompt is computed — a pure function
/// of the prompt's profile and the workers' reported state, tested without sockets.
///
/// Decode worker: among those with a free job slot, prefer one whose KV cache has room for the
/// prompt's blocks, then the lowest cost = prompt tokens it would have to compute (its cached
/// prefix subtracted) + `tokensPerSequence` × the generations it already holds; ties go to the one
/// given work least recently. So a shared system prompt pulls its conversations to the worker that
/// holds it, until that worker is busier than recomputing the prefix elsewhere would cost.
///
/// Placement: `remote` (a prefill worker computes the prompt and streams its KV blocks to the
/// decode worker) when the tokens left to compute reach `minRemoteTokens` and a prefill worker
/// has a free slot; else `local` (the decode worker prefills in place, in chunks between decode
/// steps).
public enum GenerateRoutePlanner {
    public struct Policy: Sendable, Equatable {
        /// Uncached prompt tokens from which a prefill worker computes the prompt.
        public var minRemoteTokens: Int
        /// What one generation a worker already holds weighs, in prompt tokens to compute.
        public var tokensPerSequence: Int

        public init(minRemoteTokens: Int = 256, tokensPerSequence: Int = 64) {
            self.minRemoteTokens = minRemoteTokens
            self.tokensPerSequence = tokensPerSequence
        }
    }

    public struct DecodeWorker: Sendable, Equatable {
        /// The caller's handle for the worker.
        public var id: Int
        public var freeSlots: Int
        /// Generations the worker holds now (the router's own count, always current).
        public var holding: Int
        /// The last reported load (up to one heartbeat old); nil before the first report.
        public var load: WorkerLoad?
        public var cachedPrefixes: Set<UInt64>
        public var lastDispatch: UInt64

        public init(id: Int, freeSlots: Int, holding: Int, load: WorkerLoad?, cachedPrefixes: Set<UInt64>, lastDispatch: UInt64) {
            self.id = id; self.freeSlots = freeSlots; self.holding = holding; self.load = load
            self.cachedPrefixes = cachedPrefixes; self.lastDispatch = lastDispatch
        }
    }

    public struct Choice: Sendable, Equatable {
        public var worker: Int
        public var placement: PrefillPlacement
        /// Prompt tokens the chosen worker holds cached.
        public var cachedTokens: Int

        public init(worker: Int, placement: PrefillPlacement, cachedTokens: Int) {
            self.worker = worker; self.placement = placement; self.cachedTokens = cachedTokens
        }
    }

    /// The decode worker and placement for one job, or nil when no worker has a free slot.
    /// `prefillFreeSlots`: free slots of prefill workers minus prefill jobs already queued.
    public static func choose(_ profile: PromptProfile?, workers: [DecodeWorker], prefillFreeSlots: Int, policy: Policy) -> Choice? {
        var best: (choice: Choice, roomy: Bool, cost: Int, lastDispatch: UInt64)?
        for worker in workers where worker.freeSlots > 0 {
            let cachedBlocks = profile.map { p in p.prefixHashes.prefix { worker.cachedPrefixes.contains($0) }.count } ?? 0
            let cachedTokens = cachedBlocks * (profile?.blockSizeTokens ?? 0)
            let uncached = (profile?.tokens ?? 0) - cachedTokens
            let blocksNeeded = profile.map { ($0.tokens + $0.blockSizeTokens - 1) / $0.blockSizeTokens - cachedBlocks } ?? 0
            let roomy = worker.load?.kvCache.map { $0.freeBlocks >= blocksNeeded } ?? true
            let cost = uncached + policy.tokensPerSequence * worker.holding
            if let b = best {
                let better = roomy != b.roomy ? roomy : cost != b.cost ? cost < b.cost : worker.lastDispatch < b.lastDispatch
                guard better else { continue }
            }
            let remote = profile != nil && uncached >= policy.minRemoteTokens && prefillFreeSlots > 0
            best = (Choice(worker: worker.id, placement: remote ? .remote : .local, cachedTokens: cachedTokens), roomy, cost, worker.lastDispatch)
        }
        return best?.choice
    }
}
