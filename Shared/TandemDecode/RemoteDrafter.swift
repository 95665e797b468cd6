import TandemModel

/// Drafts one method through the draft service (`DraftWorkerPool`), and with `fallback` (an
/// in-process drafter of the same method, if the worker has one) for the sequences no draft
/// worker serves this round; with neither, those sequences decode plainly this step, and the
/// pool counts the round as undrafted (the generation's result says so). Driven by
/// the decode engine's step thread, as every `Drafter`.
public final class RemoteDrafter: Drafter {
    public let method: DraftMethod
    public let pool: DraftWorkerPool
    public let fallback: (any Drafter)?

    public init(method: DraftMethod, pool: DraftWorkerPool, fallback: (any Drafter)?) {
        precondition(fallback.map { $0.method == method } ?? true, "the fallback drafts with the same method")
        self.method = method; self.pool = pool; self.fallback = fallback
    }

    public func propose(_ requests: [DraftRequest]) throws -> [Int: [DraftToken]] {
        try proposeCandidates(requests).compactMapValues(\.first)
    }

    public func proposeCandidates(_ requests: [DraftRequest]) throws -> [Int: [[DraftToken]]] {
        var (drafts, unserved) = pool.propose(method: method, requests)
        guard !unserved.isEmpty else { return drafts }
        if let fallback {
            drafts.merge(try fallback.proposeCandidates(unserved)) { remote, _ in remote }
        } else {
            pool.noteUndrafted(unserved.map(\.sequence))
        }
        return drafts
    }

    public func release(_ sequence: Int) {
        pool.close(sequence)
        fallback?.release(sequence)
    }
}
