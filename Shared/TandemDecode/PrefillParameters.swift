import TandemModel

/// The `params` of a `prefill` job (docs/generate.md, "Disaggregated prefill"), which a decode
/// worker submits through the router: compute `tokens`, sample the first token, and send the KV
/// blocks to `decode_endpoint` under `handoff`.
public struct PrefillParameters: Codable, Sendable, Equatable {
    public var tokens: [Int32]
    public var sampling: SamplingParameters
    public var decodeEndpoint: String
    public var handoff: String

    enum CodingKeys: String, CodingKey { case tokens, sampling, decodeEndpoint = "decode_endpoint", handoff }

    public init(tokens: [Int32], sampling: SamplingParameters, decodeEndpoint: String, handoff: String) {
        self.tokens = tokens; self.sampling = sampling; self.decodeEndpoint = decodeEndpoint; self.handoff = handoff
    }
}

/// The `result` of a `prefill` job.
public struct PrefillResult: Codable, Sendable, Equatable {
    public var firstToken: Int32
    public var tokens: Int
    public var bytes: Int
    /// FNV-1a 64 of the KV bytes sent (`KVHandoff.checksum`).
    public var checksum: String
    public var computeMilliseconds: Double
    /// What the transfer added after the compute: from the end of the prompt's last forward call
    /// to the decode worker's acknowledgement of the final part. (Earlier parts went out while
    /// later chunks were computed.)
    public var transferMilliseconds: Double
    /// Bytes in the final part: the only ones sent after the compute.
    public var tailBytes: Int
    public var worker: String
    /// Prompts computed in the same batch as this one (itself included).
    public var batchPrompts: Int

    enum CodingKeys: String, CodingKey {
        case tokens, bytes, checksum, worker
        case firstToken = "first_token", computeMilliseconds = "compute_ms", transferMilliseconds = "transfer_ms", batchPrompts = "batch_prompts"
        case tailBytes = "tail_bytes"
    }

    public init(firstToken: Int32, tokens: Int, bytes: Int, checksum: String, computeMilliseconds: Double, transferMilliseconds: Double,
                tailBytes: Int, worker: String, batchPrompts: Int) {
        self.firstToken = firstToken; self.tokens = tokens; self.bytes = bytes; self.checksum = checksum
        self.computeMilliseconds = computeMilliseconds; self.transferMilliseconds = transferMilliseconds; self.tailBytes = tailBytes; self.worker = worker
        self.batchPrompts = batchPrompts
    }
}
