/// Why the KV cache refused an operation.
public enum KVCacheError: Error, Equatable, CustomStringConvertible {
    case outOfBlocks(needed: Int, free: Int)
    case unknownSequence(Int)
    case sequenceExists(Int)
    case badImport(String)
    case contextExceeded(Int)
    case blockRange(from: Int, to: Int, blocks: Int)

    public var description: String {
        switch self {
        case .outOfBlocks(let needed, let free): return "KV cache full: \(needed) blocks needed, \(free) free"
        case .unknownSequence(let id): return "unknown sequence \(id)"
        case .sequenceExists(let id): return "sequence \(id) already exists"
        case .badImport(let why): return "cannot import KV blocks: \(why)"
        case .contextExceeded(let n): return "sequence of \(n) tokens exceeds the context length"
        case .blockRange(let from, let to, let blocks): return "blocks \(from)..<\(to) asked of a sequence with \(blocks)"
        }
    }
}
