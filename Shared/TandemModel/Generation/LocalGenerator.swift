/// Generates text for one prompt in this process (no services): prefill, then decode token by
/// token, sampling, stop strings and a streaming detokenizer. `tandem generate --local` uses it;
/// the decode service runs the same pieces batched.
public final class LocalGenerator {
    /// One generated token, as streamed.
    public struct Step: Sendable {
        public var token: Int32
        /// Text this token completed (may be empty mid-character or while a stop string is pending).
        public var text: String
        /// The top-K tokens of this step with their logits and log-probabilities, if asked.
        public var topLogprobs: [(token: Int32, logit: Float, logprob: Float)]
    }

    public enum FinishReason: String, Sendable { case length, stop, endOfGeneration = "eos" }

    public let model: LlamaModel
    public let tokenizer: BPETokenizer

    public init(model: LlamaModel, tokenizer: BPETokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Runs one generation, calling `onStep` for each token; returns the generated ids, the
    /// trailing text still held back, and why it ended.
    public func generate(prompt: [Int32], maxTokens: Int, sampling: SamplingParameters, stops: [String] = [],
                         logprobs: Int = 0, onStep: (Step) -> Void) throws -> (tokens: [Int32], tail: String, finish: FinishReason) {
        precondition(!prompt.isEmpty, "empty prompt")
        let cache = PagedKVCache(config: model.config, capacityTokens: min(model.config.contextLength, prompt.count + maxTokens + 16))
        try cache.createSequence(0)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var stopMatcher = StopStringMatcher(stops: stops)
        var history = prompt
        var generated: [Int32] = []
        var logits = try model.forward([ForwardRequest(sequence: 0, tokens: prompt)], cache: cache)[0][0]
        var finish = FinishReason.length
        while generated.count < maxTokens {
            let token = Sampler.sample(logits: logits, history: history, parameters: sampling, position: history.count)
            let top = logprobs > 0 ? Sampler.topLogprobs(logits, k: logprobs) : []
            generated.append(token)
            history.append(token)
            if tokenizer.isEndOfGeneration(token) {
                onStep(Step(token: token, text: "", topLogprobs: top))
                finish = .endOfGeneration
                break
            }
            let (text, stopped) = stopMatcher.feed(detokenizer.append(token))
            onStep(Step(token: token, text: text, topLogprobs: top))
            if stopped { finish = .stop; break }
            if generated.count == maxTokens || history.count >= model.config.contextLength { break }
            logits = try model.forward([ForwardRequest(sequence: 0, tokens: [token])], cache: cache)[0][0]
        }
        var tail = ""
        if finish != .stop {
            let (t, _) = stopMatcher.feed(detokenizer.finish())
            tail = t + stopMatcher.finish()
        }
        return (generated, tail, finish)
    }
}
