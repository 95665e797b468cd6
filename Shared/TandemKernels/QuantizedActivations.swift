/// Activations quantized to 8-bit blocks of 32, the way llama.cpp feeds its quantized products
/// (`block_q8_1`): per block a scale `d = max|x| / 127`, the rounded values `q = x · 127/max|x|`,
/// and `s = d · Σq` so that the Q4_1 offset term needs no pass over the block.
///
/// `d` and `s` are rounded to half precision exactly as llama.cpp stores them: this small model
/// amplifies such differences (its logits move by an NMSE of ~1e-2 between llama.cpp's own F16
/// and F32 KV caches), so matching the reference means matching its roundings.
///
/// Quantizing the activations lets the inner product run on integers (16-bit products, 32-bit
/// sums) instead of converting every weight nibble to a float. Storage is owned by the caller and
/// reused across calls.
public struct QuantizedActivations: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let blocksPerRow: Int
    /// `rows × blocksPerRow` scales.
    public let scales: UnsafeMutablePointer<Float>
    /// `rows × blocksPerRow` values of `d · Σq`.
    public let sums: UnsafeMutablePointer<Float>
    /// `rows × columns` quantized values.
    public let values: UnsafeMutablePointer<Int8>

    /// Allocates room for `rows` rows of `columns` values (a multiple of 32).
    public init(rows: Int, columns: Int) {
        precondition(columns % 32 == 0, "columns must be a multiple of 32")
        self.rows = rows
        self.columns = columns
        blocksPerRow = columns / 32
        scales = .allocate(capacity: max(1, rows * blocksPerRow))
        sums = .allocate(capacity: max(1, rows * blocksPerRow))
        values = .allocate(capacity: max(1, rows * columns))
    }

    public func deallocate() {
        scales.deallocate(); sums.deallocate(); values.deallocate()
    }

    /// Quantizes `count` rows of `x` (row stride `columns`) into rows `0..<count`.
    public func quantize(_ x: UnsafePointer<Float>, count: Int) {
        precondition(count <= rows)
        for b in 0..<(count * blocksPerRow) {
            quantizeBlock(x + b * 32, block: b)
        }
    }

    @inline(__always)
    func quantizeBlock(_ x: UnsafePointer<Float>, block b: Int) {
        // max|x| with same-width lane operations (SIMD's `.max()` is an element-by-element loop).
        let raw = UnsafeRawPointer(x)
        var m = SIMD8<UInt32>()
        for k in 0..<4 {
            m = pointwiseMax(m, raw.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<UInt32>.self) & 0x7FFF_FFFF)
        }
        let m4 = pointwiseMax(m.lowHalf, m.highHalf)
        let m2 = pointwiseMax(m4.lowHalf, m4.highHalf)
        let amax = Float(bitPattern: max(m2[0], m2[1]))  // non-negative floats order as their bits
        let d = amax / 127
        let id: Float = amax != 0 ? 127 / amax : 0
        // Round to nearest even by adding 1.5·2²³: the integer lands in the low mantissa bits.
        // (Swift's SIMD float→int initializers compile to out-of-line calls; this plain loop
        // is vectorized by LLVM.)
        let out = values + b * 32
        var sum: Int32 = 0
        for j in 0..<32 {
            let q = Int32(bitPattern: (x[j] * id + 12_582_912).bitPattern) &- 0x4B40_0000
            out[j] = Int8(truncatingIfNeeded: q)
            sum &+= q
        }
        scales[b] = Float(Float16(d))
        sums[b] = Float(Float16(d * Float(sum)))
    }

    /// The plain scalar twin of `quantize`, for tests.
    public func quantizeScalar(_ x: UnsafePointer<Float>, count: Int) {
        for b in 0..<(count * blocksPerRow) {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[b * 32 + j])) }
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            var sum = 0
            for j in 0..<32 {
                let q = Int((x[b * 32 + j] * id).rounded(.toNearestOrEven))
                values[b * 32 + j] = Int8(q)
                sum += q
            }
            scales[b] = Float(Float16(d))
            sums[b] = Float(Float16(d * Float(sum)))
        }
    }
}
