/// GPT-2's byte-level alphabet: every byte maps to one printable Unicode scalar, so that BPE
/// vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the others
/// (controls, space, …) to U+0100 and up, in byte order.
public enum ByteEncoder {
    /// `byteToScalar[b]` is the scalar that stands for byte `b`.
    public static let byteToScalar: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var scalars = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            scalars.append(256 + extra)
            extra += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, s) in zip(printable, scalars) { table[b] = Unicode.Scalar(UInt32(s))! }
        return table
    }()

    /// The inverse of `byteToScalar`.
    public static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The byte-level text of `bytes`.
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// The bytes a byte-level token text stands for; a scalar outside the alphabet stands for its
    /// own UTF-8 bytes.
    public static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            if let b = scalarToByte[scalar.value] { out.append(b) } else { out.append(contentsOf: String(scalar).utf8) }
        }
        return out
    }
}
