/// What a job hears from the decode engine about its sequence.
public enum GenerationEvent: Sendable {
    /// A generated token (`index` from 0, resumed tokens counted) and the text it completes; the
    /// last token's text includes the held-back tail.
    case token(index: Int, token: Int32, text: String)
    /// This many prompt tokens were found in the KV cache (prefix caching) and not computed.
    case prefixCached(tokens: Int)
    /// What speculation did for this sequence, just before `finished` (only when it speculated).
    case speculation(SpeculationStats)
    /// The end. `text` is a tail not attached to a token (after cancellation or a resume that
    /// had already finished).
    case finished(FinishReason, text: String, engine: DecodeEngine.Snapshot)
    /// Refused at admission (`DecodeAdmissionError`) or a model failure.
    case failed(message: String, invalidRequest: Bool)
}
