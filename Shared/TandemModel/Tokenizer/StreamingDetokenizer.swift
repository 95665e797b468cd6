/// Turns a stream of tokens into text without ever emitting half a UTF-8 character.
///
/// Byte-level tokens may split a multi-byte character (an emoji often spans two or three tokens).
/// Bytes are held back until they form complete characters; a sequence that can never become valid
/// is emitted as U+FFFD. `finish()` flushes what remains.
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: BPETokenizer
    public let special: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: BPETokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// The text that token `id` completes (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.bytes(of: id, special: special))
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[0..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// The text held back, as is (invalid bytes replaced).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the longest prefix of `bytes` that ends on a character boundary: everything
    /// except a trailing, still-incomplete (but so far valid) multi-byte sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most 3 bytes for the lead byte of an unfinished sequence.
        var i = n - 1
        var continuation = 0
        while i >= 0 && n - i <= 4 {
            let b = bytes[i]
            if b & 0xC0 == 0x80 { continuation += 1; i -= 1; continue }
            let need: Int
            if b & 0x80 == 0 { need = 1 } else if b & 0xE0 == 0xC0 { need = 2 } else if b & 0xF0 == 0xE0 { need = 3 } else if b & 0xF8 == 0xF0 { need = 4 } else { return n }
            return continuation + 1 < need ? i : n
        }
        return n
    }
}
