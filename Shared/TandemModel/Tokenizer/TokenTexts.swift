/// A vocabulary's token texts in one contiguous UTF-8 buffer with an offset per token.
///
/// Why not `[String]`: 16 bytes per token plus a heap object for every text over 15 bytes; for
/// SmolLM2's 49,152 tokens that was ~0.9 MB against ~0.55 MB here, in every process that holds a
/// tokenizer (router, decode, prefill, draft).
public struct TokenTexts: RandomAccessCollection, Sendable {
    private let utf8: [UInt8]
    /// Token `i` is `utf8[offsets[i]..<offsets[i + 1]]`.
    private let offsets: [Int32]

    public init(_ texts: [String]) {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(texts.reduce(0) { $0 + $1.utf8.count })
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(texts.count + 1)
        for text in texts {
            utf8 += text.utf8
            offsets.append(Int32(utf8.count))
        }
        self.utf8 = utf8
        self.offsets = offsets
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { offsets.count - 1 }

    public subscript(position: Int) -> String {
        String(decoding: utf8Bytes(position), as: UTF8.self)
    }

    /// Token `position`'s text as UTF-8 bytes, without building a `String`.
    public func utf8Bytes(_ position: Int) -> ArraySlice<UInt8> {
        utf8[Int(offsets[position])..<Int(offsets[position + 1])]
    }
}
