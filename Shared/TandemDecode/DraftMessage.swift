import Foundation
import TandemModel
import TandemWire

/// The data-plane messages between a decode worker and a draft worker (docs/generate.md, "The
/// draft service"): the decode worker asks for drafts, the draft worker answers on the same
/// connection. The decode worker owns the sequence; the draft worker keeps only what it needs to
/// draft (the context, and its own KV cache for model drafting), so a request carries only the
/// tokens accepted since the previous one.
///
/// - `DRAFT_REQUEST` (0x43, decode → draft):
///   `[TNDM01][0x43][{seq, round, method, keep, count, sampling, ahead?, candidates?}][new token ids, int32 LE]` — the
///   draft worker's context for `seq` must hold `keep` tokens (0: start over); it appends the new
///   tokens and proposes up to `count` (1…16) drafts. `sampling` is the job's
///   `SamplingParameters` as JSON; `ahead` (default false): the draft worker may draft the next
///   round ahead while this one is verified; `candidates` (1…8, default 1): candidate chains
///   wanted (multi-draft).
/// - `DRAFT_PROPOSAL` (0x44, draft → decode):
///   `[TNDM01][0x44][{seq, round, tokens, chains?, predrafted}][token ids][distribution]…` — `tokens` ids
///   (0 to `count`) of the first chain; `chains` (default empty): the lengths of further
///   candidate chains, whose ids follow the first chain's in the same blob; when the drafts were
///   sampled, one more blob per token, in the same order, with the distribution it was drawn from,
///   sparse: (int32 LE token, float32 LE weight) per token it can draw, eight bytes each, at most
///   `maxDistributionTokens`; none when every draft is deterministic (a point mass). The weights
///   are exactly the drafter's (it draws from Float32 weights,
///   `TokenDistribution.compactedForDrafts`), so the verifier divides by the q the draft came
///   from. `predrafted`: the drafts were ready before the request came (parallel drafting).
/// - `DRAFT_CLOSE` (0x45, decode → draft): `[TNDM01][0x45][{seqs: [int]}]` — forget these sequences.
/// - `DRAFT_ERROR` (0x46, draft → decode): `[TNDM01][0x46][{code, message, seq?, round?}]` —
///   `unknown_sequence` (its context is not `keep` tokens long: resend from 0),
///   `unsupported_method`, or a protocol error code for a malformed request.
public enum DraftMessage: Sendable, Equatable {
    case request(DraftWireRequest)
    case proposal(DraftProposal)
    case close(sequences: [Int64])
    case error(DraftFailure)

    public static let requestCommand: UInt8 = 0x43
    public static let proposalCommand: UInt8 = 0x44
    public static let closeCommand: UInt8 = 0x45
    public static let errorCommand: UInt8 = 0x46

    /// Drafts per request at most (as `draft_tokens`).
    public static let maxDraftTokens = 16
    /// Candidate chains per request at most (as `drafts`).
    public static let maxCandidates = 8
    /// Sequences per DRAFT_CLOSE at most (a header holds 4096 elements).
    public static let maxClosedSequences = 1024
    /// Entries per draft distribution at most: a vocabulary of up to 131,072 tokens, whole (1 MiB).
    public static let maxDistributionTokens = 131_072
    /// Bytes per distribution entry: an int32 token and a float32 weight.
    static let distributionEntryBytes = 8

    public var frames: [[UInt8]] {
        let tag = ProtocolConstants.versionTag
        switch self {
        case .request(let r):
            let sampling = (try? JSONEncoder().encode(r.sampling)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            var fields: [String: WireValue] = [
                "seq": .int(r.sequence), "round": .int(r.round), "method": .string(r.method.rawValue), "keep": .int(Int64(r.keep)),
                "count": .int(Int64(r.count)), "sampling": .string(sampling), "ahead": .bool(r.ahead),
            ]
            if r.candidates > 1 { fields["candidates"] = .int(Int64(r.candidates)) }
            return [tag, [Self.requestCommand], MessagePackCodec.encode(fields), TokenIDBlob.encode(r.tokens)]
        case .proposal(let p):
            var fields: [String: WireValue] = [
                "seq": .int(p.sequence), "round": .int(p.round), "tokens": .int(Int64(p.drafts.count)), "predrafted": .bool(p.predrafted),
            ]
            if !p.alternatives.isEmpty { fields["chains"] = .array(p.alternatives.map { .int(Int64($0.count)) }) }
            let all = p.chains.joined()
            var frames = [tag, [Self.proposalCommand], MessagePackCodec.encode(fields), TokenIDBlob.encode(all.map(\.token))]
            if all.contains(where: { $0.distribution != .pointMass($0.token) }) {
                frames += all.map { Self.encode($0.distribution) }
            }
            return frames
        case .close(let sequences):
            return [tag, [Self.closeCommand], MessagePackCodec.encode(["seqs": .array(sequences.map { .int($0) })])]
        case .error(let f):
            var fields: [String: WireValue] = ["code": .string(f.code), "message": .string(f.message)]
            if let s = f.sequence { fields["seq"] = .int(s) }
            if let r = f.round { fields["round"] = .int(r) }
            return [tag, [Self.errorCommand], MessagePackCodec.encode(fields)]
        }
    }

    /// Decodes and checks a message; throws `WireError` on anything malformed.
    public init(frames: [[UInt8]]) throws {
        guard frames.count >= 3 else { throw WireError.tooFewFrames(frames.count) }
        guard frames.count <= 3 + ProtocolConstants.maxBlobFrames else { throw WireError.tooManyFrames(frames.count) }
        guard frames[0] == ProtocolConstants.versionTag else { throw WireError.unsupportedVersion(frames[0]) }
        guard frames[1].count == 1 else { throw WireError.malformedCommandFrame }
        guard frames[2].count <= ProtocolConstants.maxHeaderBytes else { throw WireError.headerTooLarge(frames[2].count) }
        let header = try MessagePackCodec.decode(frames[2])
        func int(_ key: String, _ range: ClosedRange<Int64>) throws -> Int64 {
            guard let value = header[key] else { throw WireError.missingField(key) }
            guard let v = value.integer, range.contains(v) else { throw WireError.invalidField(key, "an integer in \(range.lowerBound)...\(range.upperBound)") }
            return v
        }
        func string(_ key: String) throws -> String {
            guard let value = header[key] else { throw WireError.missingField(key) }
            guard case .string(let s) = value else { throw WireError.invalidField(key, "a string") }
            return s
        }
        let blobs = frames.count - 3
        switch frames[1][0] {
        case Self.requestCommand:
            let sequence = try int("seq", 0...Int64.max), round = try int("round", 0...Int64.max)
            let keep = Int(try int("keep", 0...Int64(Int32.max))), count = Int(try int("count", 1...Int64(Self.maxDraftTokens)))
            let methodName = try string("method")
            guard let method = DraftMethod(rawValue: methodName) else {
                throw WireError.invalidField("method", "one of \(DraftMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let sampling: SamplingParameters
            do {
                sampling = try JSONDecoder().decode(SamplingParameters.self, from: Data(try string("sampling").utf8))
            } catch let error as WireError {
                throw error
            } catch {
                throw WireError.invalidField("sampling", "JSON of the sampling parameters")
            }
            guard sampling.temperature.isFinite, sampling.temperature >= 0, sampling.topK >= 0, sampling.topP > 0, sampling.topP <= 1,
                  sampling.minP >= 0, sampling.minP <= 1, sampling.repetitionPenalty.isFinite, sampling.repetitionPenalty > 0,
                  (0...4096).contains(sampling.repetitionWindow) else {
                throw WireError.invalidField("sampling", "parameters out of range")
            }
            let ahead: Bool
            switch header["ahead"] {
            case nil: ahead = false
            case .bool(let b)?: ahead = b
            default: throw WireError.invalidField("ahead", "a boolean")
            }
            let candidates = header["candidates"] == nil ? 1 : Int(try int("candidates", 1...Int64(Self.maxCandidates)))
            guard blobs == 1 else { throw WireError.invalidField("tokens", "one blob of token ids, got \(blobs) blobs") }
            guard frames[3].count % 4 == 0 else { throw WireError.invalidField("tokens", "a token ids blob is a multiple of 4 bytes") }
            let tokens = try TokenIDBlob.decode(frames[3], count: frames[3].count / 4, field: "tokens")
            self = .request(DraftWireRequest(sequence: sequence, round: round, method: method, keep: keep, count: count, tokens: tokens,
                                             sampling: sampling, ahead: ahead, candidates: candidates))
        case Self.proposalCommand:
            let count = Int(try int("tokens", 0...Int64(Self.maxDraftTokens)))
            let predrafted: Bool
            switch header["predrafted"] {
            case nil: predrafted = false
            case .bool(let b)?: predrafted = b
            default: throw WireError.invalidField("predrafted", "a boolean")
            }
            var lengths = [count]
            switch header["chains"] {
            case nil: break
            case .array(let values)? where values.count < Self.maxCandidates:
                lengths += try values.map { value in
                    guard let v = value.integer, (1...Int64(Self.maxDraftTokens)).contains(v) else {
                        throw WireError.invalidField("chains", "lengths in 1...\(Self.maxDraftTokens)")
                    }
                    return Int(v)
                }
            default: throw WireError.invalidField("chains", "an array of at most \(Self.maxCandidates - 1) chain lengths")
            }
            let total = lengths.reduce(0, +)
            guard blobs == 1 || blobs == 1 + total else { throw WireError.invalidField("tokens", "\(blobs) blobs for \(total) drafts (1, or 1 + one distribution each)") }
            let ids = try TokenIDBlob.decode(frames[3], count: total, field: "tokens")
            var chains: [[DraftToken]] = []
            var next = 0
            for length in lengths {
                var chain: [DraftToken] = []
                for i in next..<next + length {
                    let distribution = blobs == 1 ? TokenDistribution.pointMass(ids[i]) : try Self.decodeDistribution(frames[4 + i])
                    // A draft its own distribution could not have drawn would make the rejection rule divide by zero.
                    guard distribution.probability(of: ids[i]) > 0 else {
                        throw WireError.invalidField("distribution", "draft \(i) (token \(ids[i])) has no weight in its distribution")
                    }
                    chain.append(DraftToken(token: ids[i], distribution: distribution))
                }
                chains.append(chain)
                next += length
            }
            self = .proposal(DraftProposal(sequence: try int("seq", 0...Int64.max), round: try int("round", 0...Int64.max), drafts: chains[0],
                                           alternatives: Array(chains.dropFirst()), predrafted: predrafted))
        case Self.closeCommand:
            guard blobs == 0 else { throw WireError.unexpectedBlobs(blobs) }
            guard case .array(let values)? = header["seqs"] else { throw WireError.missingField("seqs") }
            guard values.count <= Self.maxClosedSequences else { throw WireError.invalidField("seqs", "at most \(Self.maxClosedSequences)") }
            self = .close(sequences: try values.map { value in
                guard let v = value.integer, v >= 0 else { throw WireError.invalidField("seqs", "non-negative integers") }
                return v
            })
        case Self.errorCommand:
            guard blobs == 0 else { throw WireError.unexpectedBlobs(blobs) }
            self = .error(DraftFailure(code: try string("code"), message: try string("message"),
                                       sequence: header["seq"] == nil ? nil : try int("seq", 0...Int64.max),
                                       round: header["round"] == nil ? nil : try int("round", 0...Int64.max)))
        default:
            throw WireError.unknownCommand(frames[1][0])
        }
    }

    /// The sparse blob of a draft distribution. Its weights must be Float32 values (as
    /// `compactedForDrafts` makes them): a Double weight would be rounded here, and the verifier
    /// would use another q than the draft was drawn from.
    static func encode(_ d: TokenDistribution) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: d.tokens.count * distributionEntryBytes)
        for (i, token) in d.tokens.enumerated() {
            let weight = Float(d.weights[i])
            assert(Double(weight) == d.weights[i], "draft weights are Float32 values (TokenDistribution.compactedForDrafts)")
            let t = UInt32(bitPattern: token), w = weight.bitPattern
            for b in 0..<4 {
                bytes[8 * i + b] = UInt8(truncatingIfNeeded: t >> (8 * UInt32(b)))
                bytes[8 * i + 4 + b] = UInt8(truncatingIfNeeded: w >> (8 * UInt32(b)))
            }
        }
        return bytes
    }

    /// Reads a distribution blob, refusing (before allocating) one with more entries than any
    /// vocabulary, and any entry with a negative or repeated token or a weight that is not a
    /// finite positive number.
    static func decodeDistribution(_ blob: [UInt8]) throws -> TokenDistribution {
        guard !blob.isEmpty, blob.count % distributionEntryBytes == 0 else {
            throw WireError.invalidField("distribution", "8-byte (int32 token, float32 weight) entries, at least one; got \(blob.count) bytes")
        }
        let count = blob.count / distributionEntryBytes
        guard count <= maxDistributionTokens else {
            throw WireError.invalidField("distribution", "\(count) entries; at most \(maxDistributionTokens)")
        }
        var tokens: [Int32] = [], weights: [Double] = []
        tokens.reserveCapacity(count); weights.reserveCapacity(count)
        var seen = Set<Int32>(minimumCapacity: count)
        for i in 0..<count {
            let t = (0..<4).reduce(UInt32(0)) { $0 | UInt32(blob[8 * i + $1]) << (8 * UInt32($1)) }
            let w = Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(blob[8 * i + 4 + $1]) << (8 * UInt32($1)) })
            let token = Int32(bitPattern: t)
            guard token >= 0 else { throw WireError.invalidField("distribution", "token ids are non-negative") }
            guard w.isFinite, w > 0 else { throw WireError.invalidField("distribution", "weights are finite and positive (only the tokens a draft can draw)") }
            guard seen.insert(token).inserted else { throw WireError.invalidField("distribution", "token \(token) appears twice") }
            tokens.append(token); weights.append(Double(w))
        }
        return TokenDistribution(tokens: tokens, weights: weights)
    }
}
