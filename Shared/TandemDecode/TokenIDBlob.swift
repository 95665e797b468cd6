import TandemWire

/// Token ids as a blob frame: little-endian int32, four bytes each (KV_BLOCKS, DRAFT_REQUEST,
/// DRAFT_PROPOSAL).
public enum TokenIDBlob {
    public static func encode<C: Collection>(_ tokens: C) -> [UInt8] where C.Element == Int32 {
        var bytes = [UInt8](repeating: 0, count: tokens.count * 4)
        for (i, t) in tokens.enumerated() {
            let v = UInt32(bitPattern: t)
            bytes[4 * i] = UInt8(v & 0xFF); bytes[4 * i + 1] = UInt8((v >> 8) & 0xFF)
            bytes[4 * i + 2] = UInt8((v >> 16) & 0xFF); bytes[4 * i + 3] = UInt8(v >> 24)
        }
        return bytes
    }

    /// The ids in `blob`; throws `invalidField(field)` unless it holds exactly `count` of them.
    public static func decode(_ blob: [UInt8], count: Int, field: String) throws -> [Int32] {
        guard blob.count == count * 4 else { throw WireError.invalidField(field, "token ids blob of \(blob.count) bytes does not hold \(count) ids") }
        return (0..<count).map { i in
            Int32(bitPattern: UInt32(blob[4 * i]) | UInt32(blob[4 * i + 1]) << 8 | UInt32(blob[4 * i + 2]) << 16 | UInt32(blob[4 * i + 3]) << 24)
        }
    }
}
