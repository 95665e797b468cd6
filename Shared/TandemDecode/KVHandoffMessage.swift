import TandemWire

/// The data-plane messages of disaggregated prefill (docs/generate.md, "KV handoff"): a prefill
/// worker sends a prompt's KV blocks straight to a decode worker, which acknowledges them.
///
/// `KV_BLOCKS` (0x41, prefill → decode):
/// `[TNDM01][0x41][{handoff, tokens, block_size_tokens, block_bytes, first_token}][token ids][KV bytes]…`
/// — the prompt's token ids as little-endian int32 in one blob, then the blocks' raw bytes
/// (`PagedKVCache.exportBlocks`) in one or more blobs of whole blocks, never inside MessagePack.
/// `KV_ACK` (0x42, decode → prefill): `[TNDM01][0x42][{handoff}]`.
public enum KVHandoffMessage: Sendable, Equatable {
    case blocks(KVHandoff)
    case ack(handoff: String)

    public static let blocksCommand: UInt8 = 0x41
    public static let ackCommand: UInt8 = 0x42

    public var frames: [[UInt8]] {
        switch self {
        case .ack(let handoff):
            return [ProtocolConstants.versionTag, [Self.ackCommand], MessagePackCodec.encode(["handoff": .string(handoff)])]
        case .blocks(let h):
            let header = MessagePackCodec.encode([
                "handoff": .string(h.handoff), "tokens": .int(Int64(h.tokens.count)), "block_size_tokens": .int(Int64(h.blockSizeTokens)),
                "block_bytes": .int(Int64(h.blockBytes)), "first_token": .int(Int64(h.firstToken)),
            ])
            var ids = [UInt8](repeating: 0, count: h.tokens.count * 4)
            for (i, t) in h.tokens.enumerated() {
                let v = UInt32(bitPattern: t)
                ids[4 * i] = UInt8(v & 0xFF); ids[4 * i + 1] = UInt8((v >> 8) & 0xFF)
                ids[4 * i + 2] = UInt8((v >> 16) & 0xFF); ids[4 * i + 3] = UInt8(v >> 24)
            }
            // Whole blocks per frame, each frame under the protocol's blob limit.
            let blocksPerFrame = max(1, ProtocolConstants.maxBlobBytes / max(1, h.blockBytes))
            let frameBytes = blocksPerFrame * h.blockBytes
            var frames = [ProtocolConstants.versionTag, [Self.blocksCommand], header, ids]
            var start = 0
            if h.bytes.count <= frameBytes {
                frames.append(h.bytes)  // shares the buffer: no copy
            } else {
                while start < h.bytes.count {
                    let end = min(start + frameBytes, h.bytes.count)
                    frames.append(Array(h.bytes[start..<end]))
                    start = end
                }
            }
            return frames
        }
    }

    /// Decodes and checks a message; throws `WireError` on anything malformed or inconsistent.
    public init(frames: [[UInt8]]) throws {
        guard frames.count >= 3 else { throw WireError.tooFewFrames(frames.count) }
        guard frames[0] == ProtocolConstants.versionTag else { throw WireError.unsupportedVersion(frames[0]) }
        guard frames[1].count == 1 else { throw WireError.malformedCommandFrame }
        let header = try MessagePackCodec.decode(frames[2])
        guard case .string(let handoff)? = header["handoff"] else { throw WireError.missingField("handoff") }
        switch frames[1][0] {
        case Self.ackCommand:
            self = .ack(handoff: handoff)
        case Self.blocksCommand:
            func int(_ key: String) throws -> Int {
                guard let v = header[key]?.integer, v >= 0, v <= Int64(Int32.max) else { throw WireError.invalidField(key, "a non-negative 32-bit integer") }
                return Int(v)
            }
            let count = try int("tokens"), blockSize = try int("block_size_tokens"), blockBytes = try int("block_bytes"), first = try int("first_token")
            guard blockSize > 0, blockBytes > 0, frames.count >= 4, frames[3].count == count * 4 else { throw WireError.invalidField("tokens", "token ids blob does not match the count") }
            let blob = frames[3]
            let tokens = (0..<count).map { i in
                Int32(bitPattern: UInt32(blob[4 * i]) | UInt32(blob[4 * i + 1]) << 8 | UInt32(blob[4 * i + 2]) << 16 | UInt32(blob[4 * i + 3]) << 24)
            }
            let expected = (count + blockSize - 1) / blockSize * blockBytes
            let total = frames.dropFirst(4).reduce(0) { $0 + $1.count }
            guard total == expected else { throw WireError.invalidField("kv", "\(total) bytes, expected \(expected)") }
            var bytes: [UInt8]
            if frames.count == 5 {
                bytes = frames[4]  // one blob: shares its buffer
            } else {
                bytes = []
                bytes.reserveCapacity(total)
                for frame in frames.dropFirst(4) { bytes += frame }
            }
            self = .blocks(KVHandoff(handoff: handoff, tokens: tokens, blockSizeTokens: blockSize, blockBytes: blockBytes,
                                     firstToken: Int32(first), bytes: bytes))
        default:
            throw WireError.unknownCommand(frames[1][0])
        }
    }
}

/// One prompt's keys and values on their way from a prefill worker to a decode worker.
public struct KVHandoff: Sendable, Equatable {
    public var handoff: String
    public var tokens: [Int32]
    public var blockSizeTokens: Int
    public var blockBytes: Int
    /// The token the prefill worker sampled after the prompt.
    public var firstToken: Int32
    public var bytes: [UInt8]

    public init(handoff: String, tokens: [Int32], blockSizeTokens: Int, blockBytes: Int, firstToken: Int32, bytes: [UInt8]) {
        self.handoff = handoff; self.tokens = tokens; self.blockSizeTokens = blockSizeTokens; self.blockBytes = blockBytes
        self.firstToken = firstToken; self.bytes = bytes
    }

    /// FNV-1a 64 over the KV bytes taken 8 at a time (then the tail byte by byte), for checking
    /// that what arrived is what was computed. Word-wise because it runs on every handoff and a
    /// byte loop over 26 MB took about a second in a debug build.
    public var checksum: String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3 }
            for i in words * 8..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x0000_0100_0000_01B3 }
        }
        return String(h, radix: 16)
    }
}
