/// The blocks that hold one sequence's keys and values, in position order, and its tokens.
public struct KVBlockTable: Sendable, Equatable {
    public internal(set) var blocks: [Int] = []
    /// The tokens whose keys and values are stored (position i ↔ tokens[i]).
    public internal(set) var tokens: [Int32] = []
    /// How many of `blocks` are full and registered for prefix sharing.
    public internal(set) var sealedBlocks = 0

    public var tokenCount: Int { tokens.count }
}
