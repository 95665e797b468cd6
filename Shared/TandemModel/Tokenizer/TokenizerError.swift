/// Why a tokenizer could not be built from a model's metadata.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unsupportedModel(String)
    case unsupportedPreTokenizer(String)
    case malformedVocabulary(String)

    public var description: String {
        switch self {
        case .unsupportedModel(let m): return "tokenizer model \(m) is not supported (only gpt2-style byte-level BPE)"
        case .unsupportedPreTokenizer(let p): return "pre-tokenizer \(p) is not supported (gpt2, smollm, llama-bpe)"
        case .malformedVocabulary(let why): return "malformed vocabulary: \(why)"
        }
    }
}
