/// Prompt-lookup drafting: the tokens that followed the latest earlier occurrence of the
/// context's last n-gram (longest n first), as llama.cpp's `--lookup` and
/// `LlamaPromptLookupDecoding` do. Strong when the output repeats its input (editing,
/// summarizing, code); it proposes nothing when no n-gram recurs. Stateless and deterministic,
/// so each draft is a point mass.
public final class PromptLookupDrafter: Drafter {
    public let maxNgram: Int
    public let minNgram: Int
    public var method: DraftMethod { .lookup }

    public init(maxNgram: Int = 3, minNgram: Int = 2) {
        precondition(minNgram >= 1 && maxNgram >= minNgram)
        self.maxNgram = maxNgram; self.minNgram = minNgram
    }

    public func propose(_ requests: [DraftRequest]) -> [Int: [DraftToken]] {
        proposeCandidates(requests).compactMapValues(\.first)
    }

    /// Continuations of several earlier occurrences: the first is `propose`'s; the others follow
    /// older occurrences, then shorter n-grams, skipping any that is a prefix of one already taken.
    public func proposeCandidates(_ requests: [DraftRequest]) -> [Int: [[DraftToken]]] {
        var out: [Int: [[DraftToken]]] = [:]
        for r in requests {
            let chains = Self.lookup(r.context, count: r.count, maxNgram: maxNgram, minNgram: minNgram, candidates: r.candidates)
            if !chains.isEmpty { out[r.sequence] = chains.map { $0.map(DraftToken.deterministic) } }
        }
        return out
    }

    public func release(_ sequence: Int) {}

    /// Up to `count` tokens that followed the latest earlier occurrence of the context's last
    /// n tokens, for the largest n in `minNgram...maxNgram` that occurs.
    public static func lookup(_ context: [Int32], count: Int, maxNgram: Int, minNgram: Int) -> [Int32] {
        lookup(context, count: count, maxNgram: maxNgram, minNgram: minNgram, candidates: 1).first ?? []
    }

    /// Up to `candidates` distinct continuations (each up to `count` tokens): occurrences of the
    /// context's last n tokens latest first, for n from the largest in `minNgram...maxNgram` down.
    public static func lookup(_ context: [Int32], count: Int, maxNgram: Int, minNgram: Int, candidates: Int) -> [[Int32]] {
        guard count > 0, candidates > 0 else { return [] }
        var chains: [[Int32]] = []
        for n in stride(from: min(maxNgram, context.count - 1), through: minNgram, by: -1) {
            let suffix = context[(context.count - n)...]
            // Latest occurrence first: recent text predicts the continuation best.
            var start = context.count - n - 1
            while start >= 0 {
                if context[start..<start + n].elementsEqual(suffix) {
                    let from = start + n
                    let chain = Array(context[from..<min(from + count, context.count)])
                    if !chains.contains(where: { $0.starts(with: chain) }) {
                        chains.append(chain)
                        if chains.count == candidates { return chains }
                    }
                }
                start -= 1
            }
        }
        return chains
    }
}
