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
        var out: [Int: [DraftToken]] = [:]
        for r in requests {
            let tokens = Self.lookup(r.context, count: r.count, maxNgram: maxNgram, minNgram: minNgram)
            if !tokens.isEmpty { out[r.sequence] = tokens.map(DraftToken.deterministic) }
        }
        return out
    }

    public func release(_ sequence: Int) {}

    /// Up to `count` tokens that followed the latest earlier occurrence of the context's last
    /// n tokens, for the largest n in `minNgram...maxNgram` that occurs.
    public static func lookup(_ context: [Int32], count: Int, maxNgram: Int, minNgram: Int) -> [Int32] {
        guard count > 0 else { return [] }
        for n in stride(from: min(maxNgram, context.count - 1), through: minNgram, by: -1) {
            let suffix = context[(context.count - n)...]
            // Latest occurrence first: recent text predicts the continuation best.
            var start = context.count - n - 1
            while start >= 0 {
                if context[start..<start + n].elementsEqual(suffix) {
                    let from = start + n
                    return Array(context[from..<min(from + count, context.count)])
                }
                start -= 1
            }
        }
        return []
    }
}
