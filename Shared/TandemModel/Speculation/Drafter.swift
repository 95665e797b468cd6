/// Proposes draft tokens for many sequences at once, with whatever per-sequence state its method
/// keeps. One owner drives it (a decode worker's step loop, or a draft worker).
public protocol Drafter: AnyObject {
    var method: DraftMethod { get }
    /// Up to `count` drafts per request, each with the distribution it was drawn from (fewer, or
    /// none, when the method has nothing to propose).
    func propose(_ requests: [DraftRequest]) throws -> [Int: [DraftToken]]
    /// Up to `candidates` chains per request (multi-draft), the first being what `propose`
    /// returns. Chains must be distinct deterministic proposals or independent samples, each
    /// depending only on its own prefix, for verification to stay exact (`SpeculativeVerifier`).
    /// A drafter without alternatives proposes its one chain.
    func proposeCandidates(_ requests: [DraftRequest]) throws -> [Int: [[DraftToken]]]
    /// Forgets a sequence's state.
    func release(_ sequence: Int)
}

extension Drafter {
    public func proposeCandidates(_ requests: [DraftRequest]) throws -> [Int: [[DraftToken]]] {
        try propose(requests).mapValues { [$0] }
    }
}
