import TandemKernels

/// A tensor's storage type, numbered as in ggml.
///
/// Only the types the kernels can read are listed; any other number in a file is refused by the
/// reader with `GGUFError.unknownTensorType`. Block layouts (ggml-common.h):
/// - `q4_0`: `{ f16 d; u8 qs[16] }`, value = (nibble − 8)·d, element j in the low nibble of qs[j],
///   element j+16 in the high nibble.
/// - `q4_1`: `{ f16 d; f16 m; u8 qs[16] }`, value = nibble·d + m, same nibble order.
/// - `q8_0`: `{ f16 d; i8 qs[32] }`, value = q·d.
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8

    /// Elements per block.
    public var blockElements: Int { kernelFormat.blockElements }

    /// Bytes per block.
    public var blockBytes: Int { kernelFormat.blockBytes }

    /// Bytes taken by a row of `elements` values (which must be a whole number of blocks).
    public func rowBytes(_ elements: Int) -> Int { elements / blockElements * blockBytes }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        }
    }
}
