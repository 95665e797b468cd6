import Foundation
import TandemKernels
@testable import TandemModel

/// A tiny random-weight Llama written as a real GGUF file, for tests that need no download.
enum TinyModel {
    static let config = LlamaConfig(vocabularySize: 64, embeddingLength: 64, blockCount: 2, feedForwardLength: 96,
                                    headCount: 4, headCountKV: 2, contextLength: 256, ropeDimension: 16,
                                    ropeBase: 10_000, rmsEpsilon: 1e-5)

    /// Writes the model (Q4_1 matrices, Q8_0 embedding, tied output) and returns its path.
    static func write(seed: UInt64 = 7) throws -> String {
        var rng = SplitMix(state: seed)
        func values(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in (Float(rng.next() % 10_000) / 5_000 - 1) * scale } }
        let c = config
        var w = GGUFWriter()
        w.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.embedding_length", .uint32(UInt32(c.embeddingLength))),
            ("llama.block_count", .uint32(UInt32(c.blockCount))),
            ("llama.feed_forward_length", .uint32(UInt32(c.feedForwardLength))),
            ("llama.attention.head_count", .uint32(UInt32(c.headCount))),
            ("llama.attention.head_count_kv", .uint32(UInt32(c.headCountKV))),
            ("llama.context_length", .uint32(UInt32(c.contextLength))),
            ("llama.rope.dimension_count", .uint32(UInt32(c.ropeDimension))),
            ("llama.rope.freq_base", .float32(c.ropeBase)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsEpsilon)),
        ]
        func matrix(_ name: String, rows: Int, columns: Int, _ format: WeightMatrix.Format = .q4_1) -> GGUFWriter.Tensor {
            let type: GGMLType = format == .q4_1 ? .q4_1 : format == .q8_0 ? .q8_0 : .f32
            return .init(name: name, type: type, dimensions: [columns, rows],
                         bytes: WeightQuantizer.encode(values(rows * columns, scale: 0.3), as: format))
        }
        func norm(_ name: String) -> GGUFWriter.Tensor {
            .init(name: name, type: .f32, dimensions: [c.embeddingLength],
                  bytes: WeightQuantizer.encode(values(c.embeddingLength, scale: 0.2).map { $0 + 1 }, as: .f32))
        }
        w.tensors.append(matrix("token_embd.weight", rows: c.vocabularySize, columns: c.embeddingLength, .q8_0))
        for i in 0..<c.blockCount {
            let p = "blk.\(i)."
            w.tensors += [
                norm(p + "attn_norm.weight"),
                matrix(p + "attn_q.weight", rows: c.embeddingLength, columns: c.embeddingLength),
                matrix(p + "attn_k.weight", rows: c.kvDimension, columns: c.embeddingLength),
                matrix(p + "attn_v.weight", rows: c.kvDimension, columns: c.embeddingLength),
                matrix(p + "attn_output.weight", rows: c.embeddingLength, columns: c.embeddingLength),
                norm(p + "ffn_norm.weight"),
                matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: c.embeddingLength),
                matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: c.embeddingLength),
                matrix(p + "ffn_down.weight", rows: c.embeddingLength, columns: c.feedForwardLength),
            ]
        }
        w.tensors.append(norm("output_norm.weight"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-tiny-\(seed)-\(UUID().uuidString).gguf").path
        try w.write(to: path)
        return path
    }

    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
