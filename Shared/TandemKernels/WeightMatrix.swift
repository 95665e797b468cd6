/// A weight matrix in its stored format, as kernels see it: `rows` rows of `columns` values,
/// either row after row as GGUF stores them (`rowBytes` each, starting at `data`) or packed into
/// panels of eight interleaved rows (`Layout.panels`, see `packedIntoPanels`).
public struct WeightMatrix: @unchecked Sendable {
    /// How the rows lie in memory.
    public enum Layout: Sendable {
        /// Row after row, as stored in GGUF.
        case rows
        /// Groups of `panelRows` rows interleaved block by block (Q4_1 and Q8_0; the layout is
        /// described in CTandemKernels.h). A decode step streams each panel from memory in one
        /// run and multiplies eight rows per instruction.
        case panels
    }

    /// Rows per panel.
    public static let panelRows = 8

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
        /// Whether the panel kernels read this format.
        public var hasPanelLayout: Bool { self == .q4_1 || self == .q8_0 }
    }

    public let format: Format
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    public let layout: Layout

    public init(format: Format, rows: Int, columns: Int, data: UnsafeRawPointer, layout: Layout = .rows) {
        precondition(columns % format.blockElements == 0)
        precondition(layout == .rows || format.hasPanelLayout, "\(format) has no panel layout")
        self.format = format
        self.rows = rows
        self.columns = columns
        self.data = data
        self.layout = layout
    }

    /// Bytes of one row's values (in either layout, the matrix stores this much per row).
    public var rowBytes: Int { columns / format.blockElements * format.blockBytes }
    /// Row `r` in the row layout.
    public func row(_ r: Int) -> UnsafeRawPointer {
        assert(layout == .rows)
        return data + r * rowBytes
    }

    /// Bytes the panel layout takes (rows padded to whole panels).
    public var panelPackedBytes: Int { (rows + Self.panelRows - 1) / Self.panelRows * Self.panelRows * rowBytes }

    /// Copies this row-layout matrix into `destination` (`panelPackedBytes` long) in the panel
    /// layout and returns the packed matrix. Padding rows are zero (their products are zero and
    /// never stored).
    public func packedIntoPanels(into destination: UnsafeMutableRawPointer) -> WeightMatrix {
        precondition(layout == .rows && format.hasPanelLayout)
        let n = Self.panelRows, blocks = columns / 32, blockBytes = format.blockBytes
        let panelBlockBytes = n * blockBytes
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: panelPackedBytes)
        let out = destination.assumingMemoryBound(to: UInt8.self)
        for r in 0..<rows {
            let source = row(r).assumingMemoryBound(to: UInt8.self)
            let panel = out + (r / n) * blocks * panelBlockBytes
            let lane = r % n
            for b in 0..<blocks {
                let s = source + b * blockBytes, d = panel + b * panelBlockBytes
                d[2 * lane] = s[0]; d[2 * lane + 1] = s[1]
                if format == .q4_1 {
                    d[16 + 2 * lane] = s[2]; d[16 + 2 * lane + 1] = s[3]
                    for c in 0..<4 { for e in 0..<4 { d[32 + 32 * c + 4 * lane + e] = s[4 + 4 * c + e] } }
                } else {
                    for k in 0..<8 { for e in 0..<4 { d[16 + 32 * k + 4 * lane + e] = s[2 + 4 * k + e] ^ 0x80 } }
                }
            }
        }
        return WeightMatrix(format: format, rows: rows, columns: columns, data: UnsafeRawPointer(destination), layout: .panels)
    }

    /// Row `r`'s blocks in GGUF layout, gathered from a panel (the inverse of `packedIntoPanels`).
    func unpackPanelRow(_ r: Int, into out: UnsafeMutablePointer<UInt8>) {
        let n = Self.panelRows, blocks = columns / 32, blockBytes = format.blockBytes
        let panel = data.assumingMemoryBound(to: UInt8.self) + (r / n) * blocks * n * blockBytes
        let lane = r % n
        for b in 0..<blocks {
            let s = panel + b * n * blockBytes, d = out + b * blockBytes
            d[0] = s[2 * lane]; d[1] = s[2 * lane + 1]
            if format == .q4_1 {
                d[2] = s[16 + 2 * lane]; d[3] = s[16 + 2 * lane + 1]
                for c in 0..<4 { for e in 0..<4 { d[4 + 4 * c + e] = s[32 + 32 * c + 4 * lane + e] } }
            } else {
                for k in 0..<8 { for e in 0..<4 { d[2 + 4 * k + e] = s[16 + 32 * k + 4 * lane + e] ^ 0x80 } }
            }
        }
    }

    /// Row `r` converted to floats (used for embedding lookups and by tests).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        if layout == .panels {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: rowBytes) { buffer in
                unpackPanelRow(r, into: buffer.baseAddress!)
                WeightMatrix(format: format, rows: 1, columns: columns, data: UnsafeRawPointer(buffer.baseAddress!))
                    .dequantizeRow(0, into: out)
            }
            return
        }
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
