/// Float → stored-format conversion of weight rows (llama.cpp's `quantize_row_*_ref`), used to
/// build tiny models and kernel test inputs.
public enum WeightQuantizer {
    /// The bytes of `values` (a multiple of 32 for quantized formats) in `format`.
    public static func encode(_ values: [Float], as format: WeightMatrix.Format) -> [UInt8] {
        var out: [UInt8] = []
        func half(_ f: Float) { withUnsafeBytes(of: Float16(f).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        switch format {
        case .f32:
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .f16:
            for v in values { half(v) }
        case .q8_0:
            for b in 0..<values.count / 32 {
                let block = values[b * 32..<(b + 1) * 32]
                let amax = block.map(abs).max()!
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                half(d)
                for v in block { out.append(UInt8(bitPattern: Int8((v * id).rounded()))) }
            }
        case .q4_0:
            for b in 0..<values.count / 32 {
                let block = Array(values[b * 32..<(b + 1) * 32])
                var amax: Float = 0, maxValue: Float = 0
                for v in block where abs(v) > amax { amax = abs(v); maxValue = v }
                let d = maxValue / -8
                let id: Float = d != 0 ? 1 / d : 0
                half(d)
                for j in 0..<16 {
                    let lo = UInt8(min(15, Int8(clamping: Int((block[j] * id + 8.5).rounded(.towardZero)))))
                    let hi = UInt8(min(15, Int8(clamping: Int((block[j + 16] * id + 8.5).rounded(.towardZero)))))
                    out.append(lo | hi << 4)
                }
            }
        case .q4_1:
            for b in 0..<values.count / 32 {
                let block = Array(values[b * 32..<(b + 1) * 32])
                let lo = block.min()!, hi = block.max()!
                let d = (hi - lo) / 15
                let id: Float = d != 0 ? 1 / d : 0
                half(d)
                half(lo)
                for j in 0..<16 {
                    let a = UInt8(min(15, Int((block[j] - lo) * id + 0.5)))
                    let c = UInt8(min(15, Int((block[j + 16] - lo) * id + 0.5)))
                    out.append(a | c << 4)
                }
            }
        }
        return out
    }
}
