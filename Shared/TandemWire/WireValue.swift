/// A value inside a MessagePack header: the subset of MessagePack the protocol uses.
///
/// Extension types are not part of the protocol and are rejected by the decoder.
public enum WireValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    /// Only for integers above `Int64.max`; the decoder gives `.int` for every other integer.
    case uint(UInt64)
    case double(Double)
    case string(String)
    case binary([UInt8])
    case array([WireValue])
    /// Keys are unique: the decoder rejects a map with a repeated key.
    case map([String: WireValue])

    /// The value as a signed integer, if it is an integer that fits.
    public var integer: Int64? {
        switch self {
        case .int(let value): value
        case .uint(let value): value <= UInt64(Int64.max) ? Int64(value) : nil
        default: nil
        }
    }
}
