/// A weight matrix in its stored format, as kernels see it: `rows` rows of `columns` values,
/// each row `rowBytes` long, starting at `data`.
public struct WeightMatrix: @unchecked Sendable {
    /// Storage formats the kernels read (numbered as ggml's types).
    public enum Format: Sendable {
        case f32, f16, q4_0, q4_1, q8_0

        public var blockElements: Int { self == .f32 || self == .f16 ? 1 : 32 }
        public var blockBytes: Int {
            switch self {
            case .f32: return 4
            case .f16: return 2
            case .q4_0: return 18
            case .q4_1: return 20
            case .q8_0: return 34
            }
        }
        /// Whether products read quantized activations (otherwise float ones).
        public var isQuantized: Bool { blockElements == 32 }
    }

    public let format: Format
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer

    public init(format: Format, rows: Int, columns: Int, data: UnsafeRawPointer) {
        precondition(columns % format.blockElements == 0)
        self.format = format
        self.rows = rows
        self.columns = columns
        self.data = data
    }

    public var rowBytes: Int { columns / format.blockElements * format.blockBytes }
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// Row `r` converted to floats (used for embedding lookups and by tests).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let p = row(r)
        switch format {
        case .f32:
            out.update(from: p.assumingMemoryBound(to: Float.self), count: columns)
        case .f16:
            for j in 0..<columns { out[j] = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self))) }
        case .q4_0, .q4_1:
            for b in 0..<columns / 32 {
                let block = p + b * format.blockBytes
                let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                let m: Float = format == .q4_1 ? Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))) : -8 * d
                let qs = block + (format == .q4_1 ? 4 : 2)
                for j in 0..<16 {
                    let byte = qs.load(fromByteOffset: j, as: UInt8.self)
                    out[b * 32 + j] = Float(byte & 0x0F) * d + m
                    out[b * 32 + j + 16] = Float(byte >> 4) * d + m
                }
            }
        case .q8_0:
            for b in 0..<columns / 32 {
                let block = p + b * 34
                let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                for j in 0..<32 { out[b * 32 + j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            }
        }
    }
}
