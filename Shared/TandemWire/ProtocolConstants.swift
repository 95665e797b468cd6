/// Constants of the Tandem wire protocol. This file mirrors `docs/protocol/README.md`, which is the
/// authority: change the spec first, then this file.
public enum ProtocolConstants {
    /// Frame 0 of every message: the protocol name and version, six ASCII bytes.
    public static let versionTag: [UInt8] = Array("TNDM01".utf8)

    /// The largest MessagePack header frame accepted.
    public static let maxHeaderBytes = 64 * 1024
    /// The largest single blob frame accepted (and `ZMQ_MAXMSGSIZE` on every socket).
    public static let maxBlobBytes = 64 * 1024 * 1024
    /// Frames after the header.
    public static let maxBlobFrames = 64
    /// Nesting of arrays and maps inside a header.
    public static let maxHeaderDepth = 8
    /// Strings, numbers, arrays and maps inside one header, all counted.
    public static let maxHeaderElements = 4096

    /// Heartbeat defaults (milliseconds); a peer is dead after `defaultLiveness` missed intervals.
    public static let defaultHeartbeatMilliseconds = 1000
    public static let defaultLiveness = 3
}
