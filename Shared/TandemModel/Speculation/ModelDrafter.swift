/// Drafts with a model: a smaller model sharing the target's vocabulary (`model`), or the
/// target's own first layers and output head (`early-exit`, self-speculation).
///
/// It keeps its own KV cache per sequence. Each round it keeps what still matches the sequence's
/// context (the tokens accepted since the last round extend it; rejected drafts are truncated
/// away), computes the rest in one batched call, then drafts one token per call for all
/// sequences together. Drafts are sampled as the target samples (greedy when greedy), keyed by
/// position on their own random stream, each with the distribution it came from.
public final class ModelDrafter: Drafter {
    public let method: DraftMethod
    public let model: LlamaModel
    /// Blocks run per draft token (all of the draft model's, or the first few of the target's).
    public let layers: Int
    private let cache: PagedKVCache
    /// Random stream of the first candidate's draws; candidate c uses `drawStream + c` (the
    /// verifier's coins use streams below it).
    static let drawStream: UInt64 = 0x80

    /// A separate draft model; refuses one whose vocabulary is not the target's.
    public init(draft: LlamaModel, draftTokenizer: BPETokenizer, targetTokenizer: BPETokenizer, kvTokens: Int = 8192) throws {
        try DraftVocabularyError.check(draft: draftTokenizer, target: targetTokenizer)
        method = .model
        model = draft
        layers = draft.config.blockCount
        cache = PagedKVCache(config: draft.config, capacityTokens: kvTokens)
    }

    /// The target's first `layers` blocks and its output head.
    public init(earlyExitOf target: LlamaModel, layers: Int, kvTokens: Int = 8192) {
        precondition(layers >= 1 && layers < target.config.blockCount, "early exit needs 1 to \(target.config.blockCount - 1) layers")
        method = .earlyExit
        model = target
        self.layers = layers
        cache = PagedKVCache(layerCount: layers, kvDimension: target.config.kvDimension,
                             blockCount: (kvTokens + 15) / 16, blockSizeTokens: 16)
    }

    public func propose(_ requests: [DraftRequest]) throws -> [Int: [DraftToken]] {
        try proposeCandidates(requests).compactMapValues(\.first)
    }

    /// One chain per candidate: chain 0 extends the sequence's own draft cache, the others extend
    /// forks of it (`PagedKVCache.fork`) that end with the round. Greedy chains start from the
    /// draft's most likely first tokens in order, then continue greedily; sampled chains are
    /// independent samples, chain c drawing on its own random stream.
    public func proposeCandidates(_ requests: [DraftRequest]) throws -> [Int: [[DraftToken]]] {
        var live: [DraftRequest] = []
        var batch: [ForwardRequest] = []
        for r in requests where r.count > 0 && !r.context.isEmpty {
            guard let pending = try? catchUp(r) else { release(r.sequence); continue }
            live.append(r)
            batch.append(ForwardRequest(sequence: r.sequence, tokens: pending))
        }
        guard !batch.isEmpty, let first = try? model.forward(batch, cache: cache, layers: layers) else {
            // Out of draft cache: these sequences draft nothing this round.
            for r in live { release(r.sequence) }
            return [:]
        }
        var chains: [Chain] = []
        var forks: [Int] = []
        defer { for fork in forks { cache.release(fork) } }
        for (i, r) in live.enumerated() {
            let q = Sampler.distribution(logits: first[i][0], history: r.context, parameters: r.sampling).compactedForDrafts()
            let greedy = r.sampling.temperature <= 0
            let ranked = greedy ? Sampler.mostLikely(logits: first[i][0], history: r.context, parameters: r.sampling, count: r.candidates) : []
            for c in 0..<(greedy ? ranked.count : r.candidates) {
                var cacheID = r.sequence
                if c > 0 {
                    cacheID = -1 - forks.count
                    guard (try? cache.fork(r.sequence, into: cacheID)) != nil else { break }
                    forks.append(cacheID)
                }
                let draft = greedy ? DraftToken.deterministic(ranked[c]) : DraftToken(token: Self.draw(q, r, depth: 0, candidate: c), distribution: q)
                chains.append(Chain(request: r, candidate: c, cacheID: cacheID, context: r.context + [draft.token], drafts: [draft]))
            }
        }
        // Then one more token per chain and call, for every chain together.
        var active = chains.indices.filter { chains[$0].drafts.count < chains[$0].request.count }
        while !active.isEmpty {
            let batch = active.map { ForwardRequest(sequence: chains[$0].cacheID, tokens: [chains[$0].drafts.last!.token]) }
            // Out of draft cache: the chains stop here.
            guard let logits = try? model.forward(batch, cache: cache, layers: layers) else { break }
            for (i, c) in active.enumerated() {
                let r = chains[c].request
                let q = Sampler.distribution(logits: logits[i][0], history: chains[c].context, parameters: r.sampling).compactedForDrafts()
                let token = r.sampling.temperature <= 0 ? q.tokens[0] : Self.draw(q, r, depth: chains[c].drafts.count, candidate: chains[c].candidate)
                chains[c].drafts.append(DraftToken(token: token, distribution: q))
                chains[c].context.append(token)
            }
            active = active.filter { chains[$0].drafts.count < chains[$0].request.count }
        }
        var out: [Int: [[DraftToken]]] = [:]
        for chain in chains { out[chain.request.sequence, default: []].append(chain.drafts) }
        return out
    }

    private struct Chain {
        var request: DraftRequest
        var candidate: Int
        /// The draft cache sequence the chain extends: the request's own, or a fork of it.
        var cacheID: Int
        /// The request's context followed by the chain's drafts (the sampler's history).
        var context: [Int32]
        var drafts: [DraftToken]
    }

    /// The sampled draft at `depth` after the context, on candidate `candidate`'s own stream.
    private static func draw(_ q: TokenDistribution, _ r: DraftRequest, depth: Int, candidate: Int) -> Int32 {
        q.draw(CounterRNG.uniform(seed: r.sampling.seed, position: r.context.count + depth, stream: drawStream + UInt64(candidate)))
    }

    public func release(_ sequence: Int) { cache.release(sequence) }

    /// Brings the sequence's draft cache to `context` minus its last token, and returns the
    /// tokens still to compute (at least the last).
    private func catchUp(_ r: DraftRequest) throws -> [Int32] {
        guard let table = cache.table(r.sequence) else {
            let cached = try cache.createSequence(r.sequence, prompt: r.context)
            return Array(r.context[cached...])
        }
        var common = 0
        let limit = min(table.tokenCount, r.context.count - 1)
        while common < limit && table.tokens[common] == r.context[common] { common += 1 }
        try cache.truncate(r.sequence, toTokenCount: common)
        return Array(r.context[common...])
    }
}
