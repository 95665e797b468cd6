/// A Llama model's hyper-parameters, read from GGUF metadata (`llama.*`), nothing hard-coded.
public struct LlamaConfig: Sendable, Equatable {
    public var vocabularySize: Int
    public var embeddingLength: Int
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    public var contextLength: Int
    public var ropeDimension: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float

    public var headDimension: Int { embeddingLength / headCount }
    public var kvDimension: Int { headCountKV * headDimension }

    public init(vocabularySize: Int, embeddingLength: Int, blockCount: Int, feedForwardLength: Int,
                headCount: Int, headCountKV: Int, contextLength: Int, ropeDimension: Int, ropeBase: Float, rmsEpsilon: Float) {
        self.vocabularySize = vocabularySize; self.embeddingLength = embeddingLength; self.blockCount = blockCount
        self.feedForwardLength = feedForwardLength; self.headCount = headCount; self.headCountKV = headCountKV
        self.contextLength = contextLength; self.ropeDimension = ropeDimension; self.ropeBase = ropeBase; self.rmsEpsilon = rmsEpsilon
    }

    /// Reads the configuration of a `llama` GGUF file; other architectures are refused.
    public init(file: GGUFFile) throws {
        let arch = try file.requireString("general.architecture")
        guard arch == "llama" else { throw GGUFError.unsupportedArchitecture(arch) }
        func float(_ key: String, _ fallback: Float?) throws -> Float {
            if let v = file.metadata[key] {
                guard let d = v.doubleValue else { throw GGUFError.wrongKeyType(key) }
                return Float(d)
            }
            guard let fallback else { throw GGUFError.missingKey(key) }
            return fallback
        }
        embeddingLength = try file.requireInt("llama.embedding_length")
        blockCount = try file.requireInt("llama.block_count")
        feedForwardLength = try file.requireInt("llama.feed_forward_length")
        headCount = try file.requireInt("llama.attention.head_count")
        headCountKV = file.metadata["llama.attention.head_count_kv"]?.intValue ?? headCount
        contextLength = file.metadata["llama.context_length"]?.intValue ?? 2048
        rmsEpsilon = try float("llama.attention.layer_norm_rms_epsilon", 1e-5)
        ropeBase = try float("llama.rope.freq_base", 10_000)
        let embedding = try file.requireTensor("token_embd.weight")
        vocabularySize = file.metadata["llama.vocab_size"]?.intValue ?? embedding.rowCount
        guard headCount > 0, headCountKV > 0, headCount % headCountKV == 0, embeddingLength % headCount == 0 else {
            throw GGUFError.badTensor(name: "llama.attention", reason: "\(headCount) heads, \(headCountKV) KV heads for width \(embeddingLength)")
        }
        ropeDimension = file.metadata["llama.rope.dimension_count"]?.intValue ?? embeddingLength / headCount
        guard ropeDimension % 2 == 0, ropeDimension <= embeddingLength / headCount else {
            throw GGUFError.badTensor(name: "llama.rope", reason: "rope dimension \(ropeDimension)")
        }
    }
}
