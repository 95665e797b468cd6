extension LlamaModel {
    /// The most tokens one pass through the layers takes; a larger call runs as consecutive passes.
    ///
    /// Why: a pass's activation buffers grow with its tokens (a 512-token prompt needed 13 MB of
    /// them, more than the KV cache of a short chat), while at 64 tokens every weight panel is
    /// already reused 64 times from L1, so more tokens per pass gain no speed.
    static let maxTokensPerPass = 64

    /// Runs a validated batch of more than `maxTokensPerPass` tokens as consecutive passes over
    /// slices of it, in order, as chunked prefill does: each token's arithmetic is the same as in
    /// one pass (its attention reads the positions earlier passes wrote), so the logits are
    /// identical. Returns them in the order of each request's `logitIndices`. `layers` as in `forward`.
    func forwardInPasses(_ batch: [ForwardRequest], cache: PagedKVCache, layers: Int?) throws -> [[[Float]]] {
        for req in batch {
            for i in req.logitIndices { precondition(i >= 0 && i < req.tokens.count, "logit index out of range") }
        }
        var logitsByIndex: [[Int: [Float]]] = batch.map { _ in [:] }
        var pass: [(request: Int, start: Int, piece: ForwardRequest)] = []
        var passTokens = 0
        func runPass() throws {
            let results = try forward(pass.map(\.piece), cache: cache, layers: layers)
            for (entry, logits) in zip(pass, results) {
                for (i, row) in zip(entry.piece.logitIndices, logits) { logitsByIndex[entry.request][entry.start + i] = row }
            }
            pass.removeAll()
            passTokens = 0
        }
        for (r, req) in batch.enumerated() {
            var start = 0
            while start < req.tokens.count {
                let end = min(req.tokens.count, start + Self.maxTokensPerPass - passTokens)
                let wanted = Set(req.logitIndices.filter { $0 >= start && $0 < end }).sorted().map { $0 - start }
                pass.append((r, start, ForwardRequest(sequence: req.sequence, tokens: Array(req.tokens[start..<end]), logitIndices: wanted)))
                passTokens += end - start
                start = end
                if passTokens == Self.maxTokensPerPass { try runPass() }
            }
        }
        if !pass.isEmpty { try runPass() }
        return batch.enumerated().map { r, req in req.logitIndices.map { logitsByIndex[r][$0]! } }
    }
}
