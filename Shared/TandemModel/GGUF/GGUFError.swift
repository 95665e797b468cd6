/// Why a GGUF file was refused.
///
/// The reader is a trust boundary: a model file may be truncated, corrupt or hostile, so every
/// length and offset is checked against the bytes that remain before it is used.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case badMagic(UInt32)
    case unsupportedVersion(UInt32)
    case truncated(what: String, offset: Int)
    case unknownValueType(UInt32, key: String)
    case unknownTensorType(UInt32, tensor: String)
    case unsupportedTensorType(GGMLType, tensor: String)
    case limitExceeded(what: String, value: UInt64)
    case badAlignment(UInt64)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badTensor(name: String, reason: String)
    case missingKey(String)
    case wrongKeyType(String)
    case missingTensor(String)
    case unsupportedArchitecture(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let errno): return "cannot open \(path) (errno \(errno))"
        case .badMagic(let m): return "not a GGUF file (magic 0x\(String(m, radix: 16)))"
        case .unsupportedVersion(let v): return "unsupported GGUF version \(v) (only 3 is read)"
        case .truncated(let what, let offset): return "file truncated reading \(what) at byte \(offset)"
        case .unknownValueType(let t, let key): return "unknown metadata value type \(t) for key \(key)"
        case .unknownTensorType(let t, let name): return "unknown tensor type \(t) for tensor \(name)"
        case .unsupportedTensorType(let t, let name): return "tensor type \(t) of \(name) is not supported"
        case .limitExceeded(let what, let value): return "\(what) \(value) exceeds the reader's limit"
        case .badAlignment(let a): return "general.alignment \(a) is not a power of two"
        case .duplicateKey(let k): return "metadata key \(k) appears twice"
        case .duplicateTensor(let n): return "tensor \(n) appears twice"
        case .badTensor(let name, let reason): return "tensor \(name): \(reason)"
        case .missingKey(let k): return "metadata key \(k) is missing"
        case .wrongKeyType(let k): return "metadata key \(k) has an unexpected type"
        case .missingTensor(let n): return "tensor \(n) is missing"
        case .unsupportedArchitecture(let a): return "architecture \(a) is not supported (only llama)"
        }
    }
}
