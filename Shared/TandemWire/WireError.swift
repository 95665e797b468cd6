/// Why a message was refused. Every decoding failure is one of these; none crashes the process.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooFewFrames(Int)
    case tooManyFrames(Int)
    case unsupportedVersion([UInt8])
    case unknownCommand(UInt8)
    case malformedCommandFrame
    case headerTooLarge(Int)
    case blobTooLarge(Int)
    case unexpectedBlobs(Int)
    /// The header is not valid MessagePack; `offset` is where reading stopped.
    case malformedHeader(String, offset: Int)
    case tooDeep
    case tooManyElements
    case invalidUTF8(offset: Int)
    case duplicateKey(String)
    case headerNotAMap
    case missingField(String)
    case invalidField(String, String)

    public var description: String {
        switch self {
        case .tooFewFrames(let n): "message has \(n) frames; at least 3 (version, command, header) are required"
        case .tooManyFrames(let n): "message has \(n) frames; the limit is \(ProtocolConstants.maxBlobFrames + 3)"
        case .unsupportedVersion(let tag): "unsupported protocol version tag \(String(decoding: tag.prefix(16), as: UTF8.self).debugDescription)"
        case .unknownCommand(let byte): "unknown command byte 0x\(String(byte, radix: 16))"
        case .malformedCommandFrame: "the command frame must be exactly one byte"
        case .headerTooLarge(let n): "header of \(n) bytes exceeds \(ProtocolConstants.maxHeaderBytes)"
        case .blobTooLarge(let n): "blob frame of \(n) bytes exceeds \(ProtocolConstants.maxBlobBytes)"
        case .unexpectedBlobs(let n): "this command carries no blob frames, got \(n)"
        case .malformedHeader(let why, let offset): "malformed MessagePack header at byte \(offset): \(why)"
        case .tooDeep: "header nests deeper than \(ProtocolConstants.maxHeaderDepth)"
        case .tooManyElements: "header holds more than \(ProtocolConstants.maxHeaderElements) elements"
        case .invalidUTF8(let offset): "string at byte \(offset) is not valid UTF-8"
        case .duplicateKey(let key): "header repeats the key \(key.debugDescription)"
        case .headerNotAMap: "the header must be a MessagePack map with string keys"
        case .missingField(let name): "required header field \(name.debugDescription) is missing"
        case .invalidField(let name, let why): "header field \(name.debugDescription) is invalid: \(why)"
        }
    }

    /// The protocol error code a peer is answered with for this failure.
    public var code: ErrorCode {
        switch self {
        case .unsupportedVersion: .unsupportedVersion
        case .unknownCommand: .unknownCommand
        case .headerTooLarge, .blobTooLarge, .tooManyFrames: .tooLarge
        case .missingField: .missingField
        case .invalidField: .invalidField
        default: .badFrame
        }
    }
}
