/// One tensor of a GGUF file: its name, type, shape and where its bytes lie in the mapping.
///
/// `dimensions[0]` is the fastest-varying (a row's length), as in ggml's `ne[0]`; a matrix of
/// `dimensions == [576, 1536]` has 1536 rows of 576 values each.
public struct GGUFTensor: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let dimensions: [Int]
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int
    /// The tensor's bytes inside the read-only mapping; valid while its `GGUFMapping` lives.
    public let data: UnsafeRawPointer

    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Elements per row (`ne[0]`).
    public var rowLength: Int { dimensions[0] }
    /// Number of rows (product of the other dimensions).
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
    public var rowBytes: Int { type.rowBytes(rowLength) }
}
