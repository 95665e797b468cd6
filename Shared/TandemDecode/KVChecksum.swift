/// FNV-1a 64 over KV bytes taken 8 at a time (then a tail byte by byte), fed part by part: a
/// prefill worker checksums what it streams, the decode worker what it assembled, and the two
/// must agree. Word-wise because it runs on every handoff and a byte loop over 26 MB took about a
/// second in a debug build. Parts other than the last must be multiples of 8 bytes (whole KV
/// blocks are).
public struct KVChecksum: Sendable {
    private var hash: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func add(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { add($0) }
    }

    public mutating func add(_ raw: UnsafeRawBufferPointer) {
        var h = hash
        let words = raw.count / 8
        for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3 }
        for i in words * 8..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x0000_0100_0000_01B3 }
        hash = h
    }

    public var hex: String { String(hash, radix: 16) }
}
