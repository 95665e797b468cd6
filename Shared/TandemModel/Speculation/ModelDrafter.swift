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
    /// Random stream of the draft's own draws (the verifier's coins use others).
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
        var live: [DraftRequest] = []
        var batch: [ForwardRequest] = []
        for r in requests where r.count > 0 && !r.context.isEmpty {
            guard let pending = try? catchUp(r) else { release(r.sequence); continue }
            live.append(r)
            batch.append(ForwardRequest(sequence: r.sequence, tokens: pending))
        }
        var out: [Int: [DraftToken]] = [:]
        var contexts = Dictionary(uniqueKeysWithValues: live.map { ($0.sequence, $0.context) })
        while !batch.isEmpty {
            let logits: [[[Float]]]
            do {
                logits = try model.forward(batch, cache: cache, layers: layers)
            } catch {
                // Out of draft cache: these sequences draft nothing more this round.
                for r in batch { release(r.sequence) }
                break
            }
            var next: [ForwardRequest] = []
            for (i, request) in batch.enumerated() {
                let r = live.first { $0.sequence == request.sequence }!
                let context = contexts[r.sequence]!
                let q = Sampler.distribution(logits: logits[i][0], history: context, parameters: r.sampling).compactedForDrafts()
                let token = r.sampling.temperature <= 0 ? q.tokens[0]
                    : q.draw(CounterRNG.uniform(seed: r.sampling.seed, position: context.count, stream: Self.drawStream))
                out[r.sequence, default: []].append(DraftToken(token: token, distribution: q))
                contexts[r.sequence]!.append(token)
                if out[r.sequence]!.count < r.count { next.append(ForwardRequest(sequence: r.sequence, tokens: [token])) }
            }
            batch = next
        }
        return out
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
