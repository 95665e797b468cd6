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
    /// From the first byte sent to the decode worker's acknowledgement.
    public var transferMilliseconds: Double
    public var worker: String
    /// Prompts computed in the same batch as this one (itself included).
    public var batchPrompts: Int

    enum CodingKeys: String, CodingKey {
        case tokens, bytes, checksum, worker
        case firstToken = "first_token", computeMilliseconds = "compute_ms", transferMilliseconds = "transfer_ms", batchPrompts = "batch_prompts"
    }

    public init(firstToken: Int32, tokens: Int, bytes: Int, checksum: String, computeMilliseconds: Double, transferMilliseconds: Double,
                worker: String, batchPrompts: Int) {
        self.firstToken = firstToken; self.tokens = tokens; self.bytes = bytes; self.checksum = checksum
        self.computeMilliseconds = computeMilliseconds; self.transferMilliseconds = transferMilliseconds; self.worker = worker
        self.batchPrompts = batchPrompts
    }
}
