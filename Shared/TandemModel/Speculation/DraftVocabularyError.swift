/// Why a draft model cannot draft for a target: its tokens would mean other text.
public struct DraftVocabularyError: Error, Equatable, CustomStringConvertible {
    public var draftSize: Int
    public var targetSize: Int
    /// The first token id whose text differs (nil when only the sizes differ).
    public var firstDifference: Int?

    public init(draftSize: Int, targetSize: Int, firstDifference: Int?) {
        self.draftSize = draftSize; self.targetSize = targetSize; self.firstDifference = firstDifference
    }

    public var description: String {
        if let id = firstDifference {
            return "the draft model's vocabulary differs from the target's at token \(id) (\(draftSize) and \(targetSize) tokens): a draft must use the target's vocabulary"
        }
        return "the draft model has \(draftSize) tokens and the target \(targetSize): a draft must use the target's vocabulary"
    }

    /// Throws unless the two vocabularies are the same token texts in the same order.
    public static func check(draft: BPETokenizer, target: BPETokenizer) throws(DraftVocabularyError) {
        let n = min(draft.tokens.count, target.tokens.count)
        let first = (0..<n).first { draft.tokens[$0] != target.tokens[$0] }
        guard first == nil && draft.tokens.count == target.tokens.count else {
            throw DraftVocabularyError(draftSize: draft.tokens.count, targetSize: target.tokens.count, firstDifference: first)
        }
    }
}
