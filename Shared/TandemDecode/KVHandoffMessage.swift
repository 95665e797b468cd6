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

    /// Whole blocks per blob frame, each frame under the protocol's blob limit.
    public static func blocksPerBlob(blockBytes: Int) -> Int {
        max(1, ProtocolConstants.maxBlobBytes / max(1, blockBytes))
    }

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
            let frameBytes = Self.blocksPerBlob(blockBytes: h.blockBytes) * h.blockBytes
            var frames = [ProtocolConstants.versionTag, [Self.blocksCommand], header, ids]
            for blob in h.blobs {
                if blob.count <= frameBytes {
                    frames.append(blob)  // shares the buffer: no copy
                    continue
                }
                for start in stride(from: 0, to: blob.count, by: frameBytes) {
                    frames.append(Array(blob[start..<min(start + frameBytes, blob.count)]))
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
            guard frames.dropFirst(4).allSatisfy({ $0.count % blockBytes == 0 }) else {
                throw WireError.invalidField("kv", "a KV blob is not a whole number of \(blockBytes)-byte blocks")
            }
            if final {
                let expected = (blocks - min(firstBlock, blocks)) * blockBytes
                guard firstBlock <= blocks, total == expected else { throw WireError.invalidField("kv", "\(total) bytes, expected \(expected)") }
            } else {
                guard total > 0, total % blockBytes == 0, firstBlock + total / blockBytes <= fullBlocks else {
                    throw WireError.invalidField("kv", "\(total) bytes from block \(firstBlock) are not whole full blocks of a \(count)-token prompt")
                }
            }
            self = .blocks(KVHandoff(handoff: handoff, tokens: tokens, blockSizeTokens: blockSize, blockBytes: blockBytes,
                                     firstToken: Int32(first), blobs: Array(frames.dropFirst(4)), firstBlock: firstBlock, final: final,
                                     computedAtMicroseconds: computedAt))
        default:
            throw WireError.unknownCommand(frames[1][0])
        }
    }
}

/// One prompt's keys and values (or a part of them) on their way from a prefill worker to a
/// decode worker.
///
/// The bytes stay in the blobs they travelled in, never joined: each copy of a prompt's ~24 MB
/// (of 1 MB of its final part, into freshly faulted pages) is time on the first token's path.
/// Two handoffs are equal when their fields and their bytes are, however the bytes are split.
public struct KVHandoff: Sendable, Equatable {
    public var handoff: String
    /// The whole prompt, in every part.
    public var tokens: [Int32]
    public var blockSizeTokens: Int
    public var blockBytes: Int
    /// The token the prefill worker sampled after the prompt (in the final part; 0 before).
    public var firstToken: Int32
    /// Blocks from `firstBlock` on, `blockBytes` each, in blobs of whole blocks.
    public var blobs: [[UInt8]]
    public var firstBlock: Int
    /// The last part: the prompt's remaining blocks and the first token.
    public var final: Bool
    /// When the prompt's compute ended, Unix µs (final part; optional).
    public var computedAtMicroseconds: Int64?
    /// When the decode worker had every block, Unix µs (set by its inbox; never on the wire).
    public var arrivedAtMicroseconds: Int64?

    public init(handoff: String, tokens: [Int32], blockSizeTokens: Int, blockBytes: Int, firstToken: Int32, blobs: [[UInt8]],
                firstBlock: Int = 0, final: Bool = true, computedAtMicroseconds: Int64? = nil) {
        self.handoff = handoff; self.tokens = tokens; self.blockSizeTokens = blockSizeTokens; self.blockBytes = blockBytes
        self.firstToken = firstToken; self.blobs = blobs; self.firstBlock = firstBlock; self.final = final
        self.computedAtMicroseconds = computedAtMicroseconds
    }

    public init(handoff: String, tokens: [Int32], blockSizeTokens: Int, blockBytes: Int, firstToken: Int32, bytes: [UInt8],
                firstBlock: Int = 0, final: Bool = true, computedAtMicroseconds: Int64? = nil) {
        self.init(handoff: handoff, tokens: tokens, blockSizeTokens: blockSizeTokens, blockBytes: blockBytes, firstToken: firstToken,
                  blobs: [bytes], firstBlock: firstBlock, final: final, computedAtMicroseconds: computedAtMicroseconds)
    }

    /// The bytes joined into one array (a copy: for tests and small handoffs).
    public var bytes: [UInt8] {
        get { Array(blobs.joined()) }
        set { blobs = [newValue] }
    }

    public var byteCount: Int { blobs.reduce(0) { $0 + $1.count } }

    public static func == (a: KVHandoff, b: KVHandoff) -> Bool {
        a.handoff == b.handoff && a.tokens == b.tokens && a.blockSizeTokens == b.blockSizeTokens && a.blockBytes == b.blockBytes
            && a.firstToken == b.firstToken && a.firstBlock == b.firstBlock && a.final == b.final
            && a.computedAtMicroseconds == b.computedAtMicroseconds && a.arrivedAtMicroseconds == b.arrivedAtMicroseconds
            && a.blobs.joined().elementsEqual(b.blobs.joined())
    }

    /// Unix µs now, for `computedAtMicroseconds` and `arrivedAtMicroseconds`.
    public static var nowMicroseconds: Int64 { Int64((Date().timeIntervalSince1970 * 1e6).rounded()) }

    /// `KVChecksum` of the bytes, to check that what arrived is what was computed.
    public var checksum: String {
        var sum = KVChecksum()
        for blob in blobs { sum.add(blob) }
        return sum.hex
    }
}
