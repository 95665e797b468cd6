import Foundation
import TandemModel
import TandemRouter

/// The router's view of a generation's prompt: the `generate` params tokenized as the decode
/// worker will (same tokenizer, same chat template), and the prefix hash after each full KV block,
/// as `PagedKVCache` computes them. Loads only the tokenizer from the model file.
///
/// ```swift
/// let routing = GenerateRouting(profile: try GeneratePromptProfiler(model: "smollm2-135m").profile)
/// ```
public struct GeneratePromptProfiler: Sendable {
    public let tokenizer: BPETokenizer
    public let blockSizeTokens: Int

    public init(model: String, blockSizeTokens: Int = 16) throws {
        tokenizer = try BPETokenizer(file: try GGUFFile(path: try ModelStore().resolve(model)))
        self.blockSizeTokens = blockSizeTokens
    }

    /// The profile of a job's params (JSON text), or nil when they are not valid `generate` params.
    @Sendable public func profile(_ params: String) -> PromptProfile? {
        guard let parameters = try? JSONDecoder().decode(GenerateParameters.self, from: Data(params.utf8)),
              let tokens = try? parameters.promptTokens(tokenizer: tokenizer) else { return nil }
        return PromptProfile(tokens: tokens.count, blockSizeTokens: blockSizeTokens,
                             prefixHashes: PagedKVCache.prefixHashes(of: tokens, blockSizeTokens: blockSizeTokens))
    }
}
