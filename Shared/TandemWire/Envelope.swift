/// A message split into its parts: `[version][command][header][blob]*` (see the spec, "Framing").
public struct Envelope: Sendable, Equatable {
    public var command: UInt8
    public var header: [String: WireValue]
    public var blobs: [[UInt8]]

    public init(command: UInt8, header: [String: WireValue], blobs: [[UInt8]] = []) {
        self.command = command
        self.header = header
        self.blobs = blobs
    }

    /// The ZeroMQ frames of this message.
    public var frames: [[UInt8]] {
        [ProtocolConstants.versionTag, [command], MessagePackCodec.encode(header)] + blobs
    }

    /// Splits frames into an envelope, checking version, frame counts and sizes. The header is
    /// decoded; what the command means is left to the typed messages.
    public init(frames: [[UInt8]]) throws(WireError) {
        guard frames.count >= 3 else { throw .tooFewFrames(frames.count) }
        guard frames.count <= ProtocolConstants.maxBlobFrames + 3 else { throw .tooManyFrames(frames.count) }
        guard frames[0] == ProtocolConstants.versionTag else { throw .unsupportedVersion(frames[0]) }
        guard frames[1].count == 1 else { throw .malformedCommandFrame }
        for blob in frames[3...] where blob.count > ProtocolConstants.maxBlobBytes {
            throw .blobTooLarge(blob.count)
        }
        command = frames[1][0]
        header = try MessagePackCodec.decode(frames[2])
        blobs = Array(frames[3...])
    }
}
