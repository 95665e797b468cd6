import Foundation
import TandemWire

/// The data-plane messages of disaggregated prefill (docs/generate.md, "KV handoff"): a prefill
/// worker sends a prompt's KV blocks straight to a decode worker, which acknowledges them.
///
/// `KV_BLOCKS` (0x41, prefill → decode):
/// `[TNDM01][0x41][{handoff, tokens, block_size_tokens, block_bytes, first_block, final, first_token, computed_at_us?}][token ids][KV bytes]…`
/// — the prompt's token ids as little-endian int32 in one blob, then raw block bytes
/// (`PagedKVCache.exportBlocks`) from block `first_block` on, in one or more blobs of whole blocks,
/// never inside MessagePack. A prompt's blocks may come in several messages, in order: each
/// non-final one carries only full blocks (sent while later chunks are still being computed); the
/// `final` one carries the rest, the sampled `first_token` and, optionally, `computed_at_us`: when
/// the prompt's compute ended (Unix µs), for timing the transfer one way on one host.
/// `KV_ACK` (0x42, decode → prefill): `[TNDM01][0x42][{handoff}]`, once the final part arrived.
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
            var fields: [String: WireValue] = [
                "handoff": .string(h.handoff), "tokens": .int(Int64(h.tokens.count)), "block_size_tokens": .int(Int64(h.blockSizeTokens)),
                "block_bytes": .int(Int64(h.blockBytes)), "first_token": .int(Int64(h.firstToken)),
                "first_block": .int(Int64(h.firstBlock)), "final": .bool(h.final),
            ]
            if let at = h.computedAtMicroseconds { fields["computed_at_us"] = .int(at) }
            let header = MessagePackCodec.encode(fields)
            let ids = TokenIDBlob.encode(h.tokens)
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
            let firstBlock = header["first_block"] == nil ? 0 : try int("first_block")
            let final: Bool
            switch header["final"] {
            case nil: final = true
            case .bool(let b)?: final = b
            default: throw WireError.invalidField("final", "a boolean")
            }
            var computedAt: Int64?
            switch header["computed_at_us"] {
            case nil, .null?: break
            case let value?:
                guard let at = value.integer else { throw WireError.invalidField("computed_at_us", "an integer") }
                computedAt = at
            }
            guard blockSize > 0, blockBytes > 0, frames.count >= 4 else { throw WireError.invalidField("tokens", "token ids blob does not match the count") }
            let tokens = try TokenIDBlob.decode(frames[3], count: count, field: "tokens")
            // A final part holds every block from `first_block` to the prompt's end; an earlier part
            // only whole blocks that are full (immutable), at least one.
            let blocks = (count + blockSize - 1) / blockSize, fullBlocks = count / blockSize
            let total = frames.dropFirst(4).reduce(0) { $0 + $1.count }
            if final {
                let expected = (blocks - min(firstBlock, blocks)) * blockBytes
                guard firstBlock <= blocks, total == expected else { throw WireError.invalidField("kv", "\(total) bytes, expected \(expected)") }
            } else {
                guard total > 0, total % blockBytes == 0, firstBlock + total / blockBytes <= fullBlocks else {
                    throw WireError.invalidField("kv", "\(total) bytes from block \(firstBlock) are not whole full blocks of a \(count)-token prompt")
                }
            }
            var bytes: [UInt8]
            if frames.count == 5 {
                bytes = frames[4]  // one blob: shares its buffer
            } else {
                bytes = []
                bytes.reserveCapacity(total)
                for frame in frames.dropFirst(4) { bytes += frame }
            }
            self = .blocks(KVHandoff(handoff: handoff, tokens: tokens, blockSizeTokens: blockSize, blockBytes: blockBytes,
                                     firstToken: Int32(first), bytes: bytes, firstBlock: firstBlock, final: final,
                                     computedAtMicroseconds: computedAt))
        default:
            throw WireError.unknownCommand(frames[1][0])
        }
    }
}

/// One prompt's keys and values (or a part of them) on their way from a prefill worker to a
/// decode worker.
public struct KVHandoff: Sendable, Equatable {
    public var handoff: String
    /// The whole prompt, in every part.
    public var tokens: [Int32]
    public var blockSizeTokens: Int
    public var blockBytes: Int
    /// The token the prefill worker sampled after the prompt (in the final part; 0 before).
    public var firstToken: Int32
    /// Blocks from `firstBlock` on, `blockBytes` each.
    public var bytes: [UInt8]
    public var firstBlock: Int
    /// The last part: the prompt's remaining blocks and the first token.
    public var final: Bool
    /// When the prompt's compute ended, Unix µs (final part; optional).
    public var computedAtMicroseconds: Int64?
    /// When the decode worker had every block, Unix µs (set by its inbox; never on the wire).
    public var arrivedAtMicroseconds: Int64?

    public init(handoff: String, tokens: [Int32], blockSizeTokens: Int, blockBytes: Int, firstToken: Int32, bytes: [UInt8],
                firstBlock: Int = 0, final: Bool = true, computedAtMicroseconds: Int64? = nil) {
        self.handoff = handoff; self.tokens = tokens; self.blockSizeTokens = blockSizeTokens; self.blockBytes = blockBytes
        self.firstToken = firstToken; self.bytes = bytes; self.firstBlock = firstBlock; self.final = final
        self.computedAtMicroseconds = computedAtMicroseconds
    }

    /// Unix µs now, for `computedAtMicroseconds` and `arrivedAtMicroseconds`.
    public static var nowMicroseconds: Int64 { Int64((Date().timeIntervalSince1970 * 1e6).rounded()) }

    /// `KVChecksum` of the bytes, to check that what arrived is what was computed.
    public var checksum: String {
        var sum = KVChecksum()
        sum.add(bytes)
        return sum.hex
    }
}
