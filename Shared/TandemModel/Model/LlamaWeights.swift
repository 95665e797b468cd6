import TandemKernels

/// The tensors of a Llama model. Q4_1 and Q8_0 matrices are copied once into the kernels' panel
/// layout (`PackedWeightStorage`) and the file's pages of them released; other matrices stay views
/// into the mapped GGUF file; norm vectors are widened to floats.
public struct LlamaWeights: @unchecked Sendable {
    /// One transformer block's tensors (`blk.N.*`).
    public struct Block: @unchecked Sendable {
        public var attentionNorm: [Float]
        public var query: WeightMatrix
        public var key: WeightMatrix
        public var value: WeightMatrix
        public var attentionOutput: WeightMatrix
        public var feedForwardNorm: [Float]
        public var gate: WeightMatrix
        public var up: WeightMatrix
        public var down: WeightMatrix
    }

    public var tokenEmbedding: WeightMatrix
    public var blocks: [Block]
    public var outputNorm: [Float]
    /// `output.weight`, or the token embedding when the model ties them.
    public var output: WeightMatrix
    /// The panel-layout copies (nil when no matrix has a panel layout).
    private let packed: PackedWeightStorage?

    public init(file: GGUFFile, config: LlamaConfig) throws {
        let matrixNames = ["token_embd.weight", "output.weight"] + (0..<config.blockCount).flatMap { i in
            ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"].map { "blk.\(i).\($0).weight" }
        }
        let packable = matrixNames.compactMap(file.tensor).filter { $0.type.kernelFormat.hasPanelLayout && $0.dimensions.count == 2 }
        let panelBytes = packable.map { (($0.rowCount + WeightMatrix.panelRows - 1) / WeightMatrix.panelRows * WeightMatrix.panelRows) * $0.rowBytes + 64 }
        let storage = panelBytes.isEmpty ? nil : PackedWeightStorage(byteCount: panelBytes.reduce(0, +))
        packed = storage
        func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
            let t = try file.requireTensor(name)
            guard t.dimensions.count == 2, t.rowLength == columns, t.rowCount == rows else {
                throw GGUFError.badTensor(name: name, reason: "shape \(t.dimensions), expected [\(columns), \(rows)]")
            }
            let stored = WeightMatrix(format: t.type.kernelFormat, rows: rows, columns: columns, data: t.data)
            guard let storage, stored.format.hasPanelLayout else { return stored }
            let packedMatrix = stored.packedIntoPanels(into: storage.take(stored.panelPackedBytes))
            file.mapping.releasePages(of: t)
            return packedMatrix
        }
        func vector(_ name: String, count: Int) throws -> [Float] {
            let t = try file.requireTensor(name)
            guard t.elementCount == count, t.type == .f32 || t.type == .f16 else {
                throw GGUFError.badTensor(name: name, reason: "expected \(count) F32 values, found \(t.elementCount) \(t.type)")
            }
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer {
                WeightMatrix(format: t.type.kernelFormat, rows: 1, columns: count, data: t.data).dequantizeRow(0, into: $0.baseAddress!)
            }
            return out
        }
        let d = config.embeddingLength
        tokenEmbedding = try matrix("token_embd.weight", rows: config.vocabularySize, columns: d)
        blocks = try (0..<config.blockCount).map { i in
            let p = "blk.\(i)."
            return Block(
                attentionNorm: try vector(p + "attn_norm.weight", count: d),
                query: try matrix(p + "attn_q.weight", rows: d, columns: d),
                key: try matrix(p + "attn_k.weight", rows: config.kvDimension, columns: d),
                value: try matrix(p + "attn_v.weight", rows: config.kvDimension, columns: d),
                attentionOutput: try matrix(p + "attn_output.weight", rows: d, columns: d),
                feedForwardNorm: try vector(p + "ffn_norm.weight", count: d),
                gate: try matrix(p + "ffn_gate.weight", rows: config.feedForwardLength, columns: d),
                up: try matrix(p + "ffn_up.weight", rows: config.feedForwardLength, columns: d),
                down: try matrix(p + "ffn_down.weight", rows: d, columns: config.feedForwardLength))
        }
        outputNorm = try vector("output_norm.weight", count: d)
        output = file.tensor("output.weight") != nil
            ? try matrix("output.weight", rows: config.vocabularySize, columns: d)
            : tokenEmbedding
    }

    /// Bytes of weights one forward pass reads (every matrix once, the embedding rows aside).
    public var bytesReadPerPass: Int {
        blocks.reduce(output.rows * output.rowBytes) { sum, b in
            sum + [b.query, b.key, b.value, b.attentionOutput, b.gate, b.up, b.down].reduce(0) { $0 + $1.rows * $1.rowBytes }
        }
    }
}

extension GGMLType {
    var kernelFormat: WeightMatrix.Format {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q8_0: return .q8_0
        }
    }
}
