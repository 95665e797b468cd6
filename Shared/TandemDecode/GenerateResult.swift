/// The `result` of a finished `generate` job, and the `data` of each of its partials.
public struct GenerateResult: Codable, Sendable, Equatable {
    public struct Timings: Codable, Sendable, Equatable {
        /// From the job's arrival at the worker to its first generated token.
        public var ttftMilliseconds: Double
        public var totalMilliseconds: Double
        /// Generated tokens after the first, per second of decoding.
        public var decodeTokensPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case ttftMilliseconds = "ttft_ms", totalMilliseconds = "total_ms", decodeTokensPerSecond = "decode_tokens_per_second"
        }
    }

    /// How the prompt was prefilled when a prefill worker did it (absent: in place).
    public struct Prefill: Codable, Sendable, Equatable {
        public var worker: String
        public var computeMilliseconds: Double
        /// What the transfer added after the compute (`PrefillResult.transferMilliseconds`); nil
        /// when the prefill job's result did not come back.
        public var transferMilliseconds: Double?
        /// Bytes sent after the compute ended (the rest streamed while it ran).
        public var tailBytes: Int?
        /// One way: from the end of the prefill worker's compute to every block being here — what
        /// the transfer adds to the first token. Wall clocks of both hosts (exact on one host).
        public var arrivalMilliseconds: Double?
        public var bytes: Int
        /// FNV-1a 64 of the KV bytes as received here.
        public var checksum: String
        /// Prompts the prefill worker computed in the same batch.
        public var batchPrompts: Int
        enum CodingKeys: String, CodingKey {
            case worker, bytes, checksum, computeMilliseconds = "compute_ms", transferMilliseconds = "transfer_ms", batchPrompts = "batch_prompts"
            case tailBytes = "tail_bytes", arrivalMilliseconds = "arrival_ms"
        }
    }

    public struct KVState: Codable, Sendable, Equatable {
        /// Free KV blocks of the worker right after this sequence released its own.
        public var freeBlocks: Int
        public var totalBlocks: Int
        public var running: Int
        public var waiting: Int
        enum CodingKeys: String, CodingKey { case freeBlocks = "free_blocks", totalBlocks = "total_blocks", running, waiting }
    }

    /// The whole generated text (resumed tokens' text included; stop strings excluded).
    public var text: String
    /// Every generated token id, resumed ones included.
    public var ids: [Int32]
    public var promptTokens: Int
    /// Prompt tokens whose keys and values were already in the worker's cache (prefix caching).
    public var cachedPromptTokens: Int
    public var completionTokens: Int
    public var resumedTokens: Int
    public var prefill: Prefill?
    /// `length`, `stop` or `eos`.
    public var finishReason: String
    public var worker: String
    public var timings: Timings
    public var kv: KVState
    /// What speculative decoding did (absent when the job did not speculate).
    public var speculation: SpeculationStats?

    enum CodingKeys: String, CodingKey {
        case text, ids, worker, timings, kv, prefill, speculation
        case promptTokens = "prompt_tokens", cachedPromptTokens = "cached_prompt_tokens", completionTokens = "completion_tokens", resumedTokens = "resumed_tokens"
        case finishReason = "finish_reason"
    }
}

/// The `data` of one partial: the text a step completed and the token it generated. The
/// partial's `seq` is the token's index among the generated tokens, so a job's ledger is its
/// token list and a resumed attempt continues the numbering.
public struct GeneratePartial: Codable, Sendable, Equatable {
    public var text: String
    public var ids: [Int32]
    public init(text: String, ids: [Int32]) { self.text = text; self.ids = ids }
}
