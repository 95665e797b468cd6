import TandemModel

/// The `params` of a `generate` job (docs/generate.md): the prompt, sampling and stops.
///
/// Either `prompt` (raw text, or with `chat` a user message) or `messages` (a chat) is given;
/// `system` adds a system message to a chat. `resume_tokens` are tokens an earlier attempt
/// generated (from the job's ledger): generation continues after them, identically.
public struct GenerateParameters: Codable, Sendable, Equatable {
    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    public var prompt: String?
    public var messages: [Message]?
    public var chat: Bool?
    public var system: String?
    public var maxTokens: Int?
    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?
    public var minP: Float?
    public var repetitionPenalty: Float?
    public var seed: UInt64?
    public var stop: [String]?
    public var resumeTokens: [Int32]?
    /// Draft method for speculative decoding (`lookup`, `early-exit`, `model`); absent: none.
    public var speculative: String?
    /// Tokens drafted per step; absent: adapted to the measured acceptance.
    public var draftTokens: Int?
    /// Whether a draft worker may draft the next round ahead while this one is verified (PEARL;
    /// absent: no — on one shared host it measured slower, docs/generate.md).
    public var parallelDrafting: Bool?
    /// Candidate draft chains verified per step (multi-draft); absent: 1.
    public var drafts: Int?

    public static let defaultMaxTokens = 128
    public static let maxDraftTokens = 16
    public static let maxDrafts = 8

    enum CodingKeys: String, CodingKey {
        case prompt, messages, chat, system, temperature, seed, stop
        case maxTokens = "max_tokens", topK = "top_k", topP = "top_p", minP = "min_p"
        case repetitionPenalty = "repetition_penalty", resumeTokens = "resume_tokens"
        case speculative, draftTokens = "draft_tokens", parallelDrafting = "parallel_drafting", drafts
    }

    public init(prompt: String? = nil, messages: [Message]? = nil, chat: Bool? = nil, system: String? = nil, maxTokens: Int? = nil,
                temperature: Float? = nil, topK: Int? = nil, topP: Float? = nil, minP: Float? = nil, repetitionPenalty: Float? = nil,
                seed: UInt64? = nil, stop: [String]? = nil, resumeTokens: [Int32]? = nil, speculative: String? = nil, draftTokens: Int? = nil,
                parallelDrafting: Bool? = nil, drafts: Int? = nil) {
        self.prompt = prompt; self.messages = messages; self.chat = chat; self.system = system; self.maxTokens = maxTokens
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repetitionPenalty = repetitionPenalty; self.seed = seed; self.stop = stop; self.resumeTokens = resumeTokens
        self.speculative = speculative; self.draftTokens = draftTokens; self.parallelDrafting = parallelDrafting
        self.drafts = drafts
    }

    /// The speculation asked for, if any (call `validate` first).
    public var speculation: SpeculationSettings? {
        guard let method = speculative.flatMap(DraftMethod.init(rawValue:)) else { return nil }
        return SpeculationSettings(method: method, draftTokens: draftTokens, drafts: drafts ?? 1, draftAhead: parallelDrafting ?? false)
    }

    public var sampling: SamplingParameters {
        SamplingParameters(temperature: temperature ?? 0, topK: topK ?? 0, topP: topP ?? 1, minP: minP ?? 0,
                           repetitionPenalty: repetitionPenalty ?? 1, seed: seed ?? 0)
    }

    /// The chat messages, when this is a chat.
    public var chatMessages: [ChatTemplate.Message]? {
        var list: [ChatTemplate.Message]
        if let messages {
            list = messages.map { .init(role: $0.role, content: $0.content) }
        } else if chat == true, let prompt {
            list = [.init(role: "user", content: prompt)]
        } else {
            return nil
        }
        if let system, list.first?.role != "system" { list.insert(.init(role: "system", content: system), at: 0) }
        return list
    }

    /// Checks what does not need the model; the message says what is wrong.
    public func validate() throws(ParameterError) {
        if prompt == nil && messages == nil { throw ParameterError("give `prompt` or `messages`") }
        if prompt != nil && messages != nil { throw ParameterError("give `prompt` or `messages`, not both") }
        if system != nil && chatMessages == nil { throw ParameterError("`system` needs a chat (`chat`: true, or `messages`)") }
        if let m = maxTokens, m < 1 { throw ParameterError("`max_tokens` must be at least 1") }
        if let t = temperature, !(t.isFinite && t >= 0) { throw ParameterError("`temperature` must be ≥ 0") }
        if let k = topK, k < 0 { throw ParameterError("`top_k` must be ≥ 0") }
        if let p = topP, !(p > 0 && p <= 1) { throw ParameterError("`top_p` must be in (0, 1]") }
        if let p = minP, !(p >= 0 && p <= 1) { throw ParameterError("`min_p` must be in [0, 1]") }
        if let r = repetitionPenalty, !(r > 0 && r.isFinite) { throw ParameterError("`repetition_penalty` must be > 0") }
        if let m = speculative, DraftMethod(rawValue: m) == nil {
            throw ParameterError("`speculative` must be one of \(DraftMethod.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(m)\")")
        }
        if let k = draftTokens {
            guard speculative != nil else { throw ParameterError("`draft_tokens` needs `speculative`") }
            guard k >= 1 && k <= Self.maxDraftTokens else { throw ParameterError("`draft_tokens` must be in 1...\(Self.maxDraftTokens)") }
        }
        if parallelDrafting != nil && speculative == nil { throw ParameterError("`parallel_drafting` needs `speculative`") }
        if let n = drafts {
            guard speculative != nil else { throw ParameterError("`drafts` needs `speculative`") }
            guard n >= 1 && n <= Self.maxDrafts else { throw ParameterError("`drafts` must be in 1...\(Self.maxDrafts)") }
        }
    }

    /// The prompt's token ids: a chat rendered with the model's template (special tokens parsed),
    /// raw text as it is — the same as `tandem generate --local`.
    public func promptTokens(tokenizer: BPETokenizer) throws(ParameterError) -> [Int32] {
        if let messages = chatMessages {
            guard let template = tokenizer.chatTemplateSource.flatMap(ChatTemplate.init(jinja:)) else {
                throw ParameterError("the model has no ChatML chat template")
            }
            return tokenizer.encode(template.render(messages), parseSpecial: true)
        }
        return tokenizer.encode(prompt ?? "", parseSpecial: false)
    }

    public struct ParameterError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}
