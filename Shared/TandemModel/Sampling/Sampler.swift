import Foundation

/// Chooses tokens from logits; a pure function of (logits, history, parameters, position).
public enum Sampler {
    /// The token for `position` (the index of the token being generated in its sequence, which
    /// keys the random draw). `history` is the sequence so far, for the repetition penalty.
    public static func sample(logits: [Float], history: [Int32], parameters p: SamplingParameters, position: Int) -> Int32 {
        let l = penalized(logits, history: history, parameters: p)
        if p.temperature <= 0 { return argmax(l) }
        return distribution(penalized: l, parameters: p).draw(CounterRNG.uniform(seed: p.seed, position: position))
    }

    /// What `sample` draws from: a point mass on the argmax when greedy, else the candidates
    /// left by top-k, temperature, top-p and min-p with their weights.
    public static func distribution(logits: [Float], history: [Int32], parameters p: SamplingParameters) -> TokenDistribution {
        let l = penalized(logits, history: history, parameters: p)
        if p.temperature <= 0 { return .pointMass(argmax(l)) }
        return distribution(penalized: l, parameters: p)
    }

    /// The `count` tokens a greedy sampler ranks highest, best first (the first is greedy
    /// decoding's choice): distinct greedy drafts for multi-draft.
    public static func mostLikely(logits: [Float], history: [Int32], parameters p: SamplingParameters, count: Int) -> [Int32] {
        let l = penalized(logits, history: history, parameters: p)
        return top(count, of: l).map { Int32($0) }
    }

    /// Indices of the `count` largest logits, largest first, ties by lower index: a partial
    /// selection when `count` is small (a few comparisons per logit), a sort otherwise.
    static func top(_ count: Int, of l: [Float]) -> [Int] {
        let ranksBefore: (Int, Int) -> Bool = { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        guard count <= 64, count < l.count else { return Array(Array(0..<l.count).sorted(by: ranksBefore).prefix(count)) }
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        for i in l.indices {
            if best.count == count, !ranksBefore(i, best[count - 1]) { continue }
            var at = best.count
            while at > 0, ranksBefore(i, best[at - 1]) { at -= 1 }
            best.insert(i, at: at)
            if best.count > count { best.removeLast() }
        }
        return best
    }

    /// The logits with the repetition penalty applied to the recent history.
    static func penalized(_ logits: [Float], history: [Int32], parameters p: SamplingParameters) -> [Float] {
        var l = logits
        if p.repetitionPenalty != 1 {
            for t in Set(history.suffix(p.repetitionWindow)) where t >= 0 && Int(t) < l.count {
                let v = l[Int(t)]
                l[Int(t)] = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty
            }
        }
        return l
    }

    private static func distribution(penalized l: [Float], parameters p: SamplingParameters) -> TokenDistribution {
        // Candidates sorted by logit, most likely first (ties: lower id first).
        var candidates = top(p.topK > 0 ? p.topK : l.count, of: l)
        let maxLogit = l[candidates[0]]
        var probs = candidates.map { Double(exp((l[$0] - maxLogit) / p.temperature)) }
        var total = probs.reduce(0, +)
        if p.topP < 1 {
            var cumulative = 0.0
            var keep = probs.count
            for (i, q) in probs.enumerated() {
                cumulative += q / total
                if cumulative >= Double(p.topP) { keep = i + 1; break }
            }
            candidates.removeLast(candidates.count - keep)
            probs.removeLast(probs.count - keep)
            total = probs.reduce(0, +)
        }
        if p.minP > 0 {
            let threshold = probs[0] * Double(p.minP)
            let keep = probs.firstIndex { $0 < threshold } ?? probs.count
            candidates.removeLast(candidates.count - keep)
            probs.removeLast(probs.count - keep)
        }
        return TokenDistribution(tokens: candidates.map { Int32($0) }, weights: probs)
    }

    /// The index of the largest logit (the lowest index on ties).
    public static func argmax(_ l: [Float]) -> Int32 {
        var best = 0
        for i in 1..<l.count where l[i] > l[best] { best = i }
        return Int32(best)
    }

    /// The `k` most likely tokens with their raw logits and log-probabilities.
    public static func topLogprobs(_ l: [Float], k: Int) -> [(token: Int32, logit: Float, logprob: Float)] {
        let m = l.max() ?? 0
        var sum = 0.0
        for v in l { sum += exp(Double(v - m)) }
        let logZ = Float(log(sum)) + m
        let top = l.indices.sorted { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }.prefix(k)
        return top.map { (Int32($0), l[$0], l[$0] - logZ) }
    }
}
