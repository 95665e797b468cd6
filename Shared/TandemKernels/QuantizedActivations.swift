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
        let raw = UnsafeRawPointer(x)
        let v0 = raw.loadUnaligned(as: SIMD16<Float>.self), v1 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let amax = max(pointwiseMax(v0, -v0).max(), pointwiseMax(v1, -v1).max())
        let d = amax / 127
        let id: Float = amax != 0 ? 127 / amax : 0
        // Round to nearest even by adding 1.5·2²³: the integer lands in the low mantissa bits.
        // (Swift's SIMD float→int initializers compile to out-of-line calls.)
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let r0 = unsafeBitCast(v0 * id + magic, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let r1 = unsafeBitCast(v1 * id + magic, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let out = values + b * 32
        for j in 0..<16 {
            out[j] = Int8(truncatingIfNeeded: r0[j])
            out[j + 16] = Int8(truncatingIfNeeded: r1[j])
        }
        scales[b] = Float(Float16(d))
        sums[b] = Float(Float16(d * Float((r0 &+ r1).wrappedSum())))
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
