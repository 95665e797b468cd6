/// Byte-level BPE built from a GGUF file's `tokenizer.ggml.*` metadata.
///
/// Encoding: special tokens are cut out of the text first (control tokens only when asked,
/// user-defined ones always, as llama.cpp does), the rest is split by the model's pre-tokenizer,
/// each word is mapped to GPT-2's byte alphabet and merged pair by pair, lowest merge rank first
/// (leftmost on ties).
///
/// ```swift
/// let tokenizer = try BPETokenizer(file: gguf)
/// let ids = tokenizer.encode("Hello world", parseSpecial: true)
/// ```
public struct BPETokenizer: Sendable {
    /// Token types as stored in `tokenizer.ggml.token_type`.
    public enum TokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public let tokens: TokenTexts
    public let types: [TokenType]
    public let preTokenizer: PreTokenizer
    public let bosID: Int32?
    public let eosID: Int32?
    public let addBOS: Bool
    /// The chat template's Jinja text, if the file has one.
    public let chatTemplateSource: String?

    /// Text → id, kept only for the pre-tokenizer that looks whole words up (`llama-bpe`): the others
    /// need it only to build `merges`, and for this vocabulary it is 1.3 MB.
    private let wordIDs: [String: Int32]?
    private let merges: BPEMergeTable
    private let byteTokens: [Int32]
    /// Special tokens matched in text, longest first.
    private let specials: [(text: [UInt8], id: Int32, control: Bool)]

    public var vocabularySize: Int { tokens.count }

    /// Builds the tokenizer of `file`.
    public init(file: GGUFFile) throws {
        let model = try file.requireString("tokenizer.ggml.model")
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }
        let preName = file.metadata["tokenizer.ggml.pre"]?.stringValue ?? "default"
        guard let pre = PreTokenizer(ggufName: preName) else { throw TokenizerError.unsupportedPreTokenizer(preName) }
        guard let tokenValues = file.metadata["tokenizer.ggml.tokens"]?.arrayValue else { throw GGUFError.missingKey("tokenizer.ggml.tokens") }
        let tokens = try tokenValues.map { v -> String in
            guard let s = v.stringValue else { throw TokenizerError.malformedVocabulary("a token is not a string") }
            return s
        }
        var types = [TokenType](repeating: .normal, count: tokens.count)
        if let typeValues = file.metadata["tokenizer.ggml.token_type"]?.arrayValue {
            guard typeValues.count == tokens.count else { throw TokenizerError.malformedVocabulary("token_type has \(typeValues.count) entries for \(tokens.count) tokens") }
            for (i, v) in typeValues.enumerated() { types[i] = TokenType(rawValue: Int32(v.intValue ?? 1)) ?? .normal }
        }
        let mergeStrings = try (file.metadata["tokenizer.ggml.merges"]?.arrayValue ?? []).map { v -> String in
            guard let s = v.stringValue else { throw TokenizerError.malformedVocabulary("a merge is not a string") }
            return s
        }
        func id(_ key: String) -> Int32? {
            guard let v = file.metadata[key]?.intValue, v >= 0, v < tokens.count else { return nil }
            return Int32(v)
        }
        try self.init(tokens: tokens, types: types, merges: mergeStrings, preTokenizer: pre,
                      bosID: id("tokenizer.ggml.bos_token_id"), eosID: id("tokenizer.ggml.eos_token_id"),
                      addBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? false,
                      chatTemplate: file.metadata["tokenizer.chat_template"]?.stringValue)
    }

    /// Builds a tokenizer from its parts (tests build small ones).
    public init(tokens: [String], types: [TokenType], merges mergeStrings: [String], preTokenizer: PreTokenizer,
                bosID: Int32?, eosID: Int32?, addBOS: Bool, chatTemplate: String? = nil) throws {
        self.tokens = TokenTexts(tokens)
        self.types = types
        self.preTokenizer = preTokenizer
        self.bosID = bosID
        self.eosID = eosID
        self.addBOS = addBOS
        chatTemplateSource = chatTemplate
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        wordIDs = preTokenizer == .llamaBPE ? ids : nil
        // A merge whose symbols are not all tokens can never apply; it keeps its rank's place.
        var pairs: [(left: Int32, right: Int32, merged: Int32)] = []
        pairs.reserveCapacity(mergeStrings.count)
        for (rank, m) in mergeStrings.enumerated() {
            let parts = m.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError.malformedVocabulary("merge \(rank) is not two symbols") }
            let l = ids[String(parts[0])], r = ids[String(parts[1])], merged = ids[String(parts[0]) + String(parts[1])]
            pairs.append((l ?? -1, r ?? -1, merged ?? -1))
        }
        merges = BPEMergeTable(pairs: pairs, vocabularySize: tokens.count)
        byteTokens = (0..<256).map { ids[String(ByteEncoder.byteToScalar[$0])] ?? -1 }
        specials = tokens.indices
            .filter { types[$0] == .control || types[$0] == .userDefined }
            .map { (Array(tokens[$0].utf8), Int32($0), types[$0] == .control) }
            .filter { !$0.0.isEmpty }
            .sorted { $0.0.count > $1.0.count }
    }

    /// The token ids of `text`. `parseSpecial` recognises control tokens such as `<|im_start|>`
    /// written in the text; `addBOS` defaults to the model's `tokenizer.ggml.add_bos_token`.
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = false) -> [Int32] {
        var out: [Int32] = []
        if addBOS ?? self.addBOS, let bosID { out.append(bosID) }
        let bytes = Array(text.utf8)
        var start = 0
        var i = 0
        while i < bytes.count {
            var matched: (Int, Int32)? = nil
            for s in specials where (parseSpecial || !s.control) && s.text.count <= bytes.count - i && s.text[0] == bytes[i] {
                if bytes[i..<i + s.text.count].elementsEqual(s.text) { matched = (s.text.count, s.id); break }
            }
            if let (length, id) = matched {
                if i > start { encodeFragment(bytes[start..<i], into: &out) }
                out.append(id)
                i += length
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { encodeFragment(bytes[start..<bytes.count], into: &out) }
        return out
    }

    private func encodeFragment(_ bytes: ArraySlice<UInt8>, into out: inout [Int32]) {
        let text = String(decoding: bytes, as: UTF8.self)
        for word in preTokenizer.split(text) {
            let wordBytes = Array(word.utf8)
            if let id = wordIDs?[ByteEncoder.encode(wordBytes)] {
                out.append(id)  // llama.cpp's ignore_merges for Llama 3
                continue
            }
            mergeWord(wordBytes, into: &out)
        }
    }

    private func mergeWord(_ bytes: [UInt8], into out: inout [Int32]) {
        var symbols = bytes.map { byteTokens[Int($0)] }
        if symbols.contains(-1) {
            // A byte without a token: llama.cpp would fail too; emit the unknown or skip.
            symbols = symbols.filter { $0 >= 0 }
        }
        while symbols.count > 1 {
            var best: (rank: Int32, index: Int, merged: Int32)? = nil
            for i in 0..<symbols.count - 1 {
                if let m = merges.merge(symbols[i], symbols[i + 1]), best == nil || m.rank < best!.rank { best = (m.rank, i, m.merged) }
            }
            guard let b = best else { break }
            symbols[b.index] = b.merged
            symbols.remove(at: b.index + 1)
        }
        out.append(contentsOf: symbols)
    }

    /// The bytes token `id` stands for. Control tokens are empty unless `special` is set.
    public func bytes(of id: Int32, special: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < tokens.count else { return [] }
        switch types[Int(id)] {
        case .control, .unknown, .unused: return special ? Array(tokens.utf8Bytes(Int(id))) : []
        case .userDefined: return Array(tokens.utf8Bytes(Int(id)))
        default: return ByteEncoder.decode(tokens[Int(id)])
        }
    }

    /// The text of a whole token sequence (invalid UTF-8 replaced).
    public func decode(_ ids: [Int32], special: Bool = false) -> String {
        String(decoding: ids.flatMap { bytes(of: $0, special: special) }, as: UTF8.self)
    }

    /// Whether `id` ends generation (EOS, or a control token such as `<|im_end|>`).
    public func isEndOfGeneration(_ id: Int32) -> Bool {
        if id == eosID { return true }
        return Int(id) < tokens.count && types[Int(id)] == .control && tokens[Int(id)] == "<|im_end|>"
    }
}
