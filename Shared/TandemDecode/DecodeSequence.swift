import TandemModel

/// One generation as the decode scheduler sees it: its tokens, how many of them are in the KV
/// cache, and why it would stop.
///
/// The sequence is the single source of truth for recompute: `tokens` is the prompt followed by
/// every generated token, and `computedTokens` of them have keys and values in the cache. A
/// prefill chunk, a decode step and a recompute after preemption all feed
/// `tokens[computedTokens...]`; logits are asked only when a step reaches the end.
public struct DecodeSequence: Sendable {
    public let id: Int
    public let priority: Int32
    /// Admission order: the tie-breaker after priority (older first).
    public let arrival: UInt64
    public let promptTokenCount: Int
    public let maxTokens: Int
    public internal(set) var tokens: [Int32]
    public internal(set) var computedTokens = 0
    /// Generated tokens, resumed ones included.
    public var generatedCount: Int { tokens.count - promptTokenCount }
    public var generated: ArraySlice<Int32> { tokens[promptTokenCount...] }
    /// Times this sequence lost its blocks to a higher-priority one.
    public internal(set) var preemptions = 0
    /// Leading tokens the executor can import on admission (0 once admitted or preempted).
    public internal(set) var importableTokens = 0

    var text: any TokenTextStream
    var stopMatcher: StopStringMatcher

    /// Set when the sequence speculates.
    public let speculation: SpeculationSettings?
    /// Speculation counts: verification steps, drafted and accepted tokens.
    public internal(set) var verifications = 0
    public internal(set) var draftedTokens = 0
    public internal(set) var acceptedDraftTokens = 0
    /// Drafts tried and accepted at each draft position, recent steps weighted more (decay per
    /// step), for the adaptive draft length. A draft counts as tried when all before it were accepted.
    var recentTried: [Double] = []
    var recentAccepted: [Double] = []
    /// Draft requests in a row that came back empty, and the generated count before which the
    /// sequence asks for none (`DecodeScheduler.draftPause`).
    var emptyDraftAnswers = 0
    var draftPauseUntil = 0
}

/// Turns generated tokens into text as they come; `StreamingDetokenizer` in the service, a table
/// in tests (so the scheduler needs no tokenizer).
public protocol TokenTextStream: Sendable {
    /// The text that `token` completes (possibly empty).
    mutating func append(_ token: Int32) -> String
    /// Whatever is held back, at the end.
    mutating func finish() -> String
}

extension StreamingDetokenizer: TokenTextStream {}
