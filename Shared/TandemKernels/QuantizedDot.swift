import CTandemKernels

/// Inner products of one weight row with one activation row: the SIMD kernels and their plain
/// scalar twins (tests compare the two by normalized mean squared error).
///
/// Quantized rows are multiplied with `QuantizedActivations` in integers: 4-bit weights and 8-bit
/// activations give 16-bit products, two of which still fit in 16 bits (2 · 15 · 127 and
/// 2 · 128 · 127 < 2¹⁵), summed into 32-bit lanes, then scaled once per block in floats —
/// the same arithmetic as llama.cpp's `ggml_vec_dot_q4_1_q8_1`, so results agree closely.
public enum QuantizedDot {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Σ nibble·x over one 32-value block, in eight 32-bit lanes.
    ///
    /// Written with same-width 32-bit lane operations only: Swift's widening SIMD initializers
    /// (`SIMD16<Int16>(truncatingIfNeeded: SIMD16<UInt8>)`) compile to out-of-line calls, while
    /// shifts and masks on `SIMD8<Int32>` vectorize (LLVM even fuses the products into
    /// `vpmaddwd`). Lane L of the activations holds bytes 4L…4L+3; lanes 0–3 of the weights hold
    /// the low nibbles of bytes 4L…4L+3 (elements 0–15), lanes 4–7 their high nibbles (16–31).
    @inline(__always)
    static func nibbleProducts(_ qs: UnsafeRawPointer, _ x: UnsafeRawPointer, offset: Int32 = 0) -> SIMD8<Int32> {
        let q4 = qs.loadUnaligned(as: SIMD4<UInt32>.self)
        let wq = unsafeBitCast(SIMD8<UInt32>(lowHalf: q4, highHalf: q4 &>> 4), to: SIMD8<Int32>.self)
        let xv = x.loadUnaligned(as: SIMD8<Int32>.self)
        var p = ((wq & 0xF) &- offset) &* ((xv &<< 24) &>> 24)
        p = p &+ (((wq &>> 8) & 0xF) &- offset) &* ((xv &<< 16) &>> 24)
        p = p &+ (((wq &>> 16) & 0xF) &- offset) &* ((xv &<< 8) &>> 24)
        p = p &+ (((wq &>> 24) & 0xF) &- offset) &* (xv &>> 24)
        return p
    }

    /// Σ w·x over one 32-value block of signed bytes, in eight 32-bit lanes (same technique).
    @inline(__always)
    static func byteProducts(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer) -> SIMD8<Int32> {
        let wv = w.loadUnaligned(as: SIMD8<Int32>.self)
        let xv = x.loadUnaligned(as: SIMD8<Int32>.self)
        var p = ((wv &<< 24) &>> 24) &* ((xv &<< 24) &>> 24)
        p = p &+ ((wv &<< 16) &>> 24) &* ((xv &<< 16) &>> 24)
        p = p &+ ((wv &<< 8) &>> 24) &* ((xv &<< 8) &>> 24)
        p = p &+ (wv &>> 24) &* (xv &>> 24)
        return p
    }

    /// One weight row (`format`, `blocks` blocks) · one quantized activation row: the C kernel
    /// (`vpmaddubsw`) that the forward pass uses.
    @inline(__always)
    public static func dot(_ format: WeightMatrix.Format, _ w: UnsafeRawPointer, blocks: Int,
                           _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Float>) -> Float {
        switch format {
        case .q4_1: return ctk_dot_q4_1_q8(w, xq, xd, xs, Int32(blocks))
        case .q4_0: return ctk_dot_q4_0_q8(w, xq, xd, xs, Int32(blocks))
        case .q8_0: return ctk_dot_q8_0_q8(w, xq, xd, Int32(blocks))
        case .f32, .f16: preconditionFailure("float weights take float activations")
        }
    }

    /// The same product in Swift SIMD (kept to measure against the C kernel; see
    /// docs/model-runtime.md).
    @inline(__always)
    public static func dotSwift(_ format: WeightMatrix.Format, _ w: UnsafeRawPointer, blocks: Int,
                           _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Float>) -> Float {
        var acc = SIMD8<Float>()
        var offsetSum: Float = 0
        let x = UnsafeRawPointer(xq)
        switch format {
        case .q4_1:
            for b in 0..<blocks {
                let blk = w + b * 20
                let p = nibbleProducts(blk + 4, x + b * 32)
                acc.addProduct(SIMD8<Float>(p), SIMD8<Float>(repeating: half(blk) * xd[b]))
                offsetSum += half(blk, 2) * xs[b]
            }
        case .q4_0:
            for b in 0..<blocks {
                let blk = w + b * 18
                let p = nibbleProducts(blk + 2, x + b * 32, offset: 8)
                acc.addProduct(SIMD8<Float>(p), SIMD8<Float>(repeating: half(blk) * xd[b]))
            }
        case .q8_0:
            for b in 0..<blocks {
                let blk = w + b * 34
                let p = byteProducts(blk + 2, x + b * 32)
                acc.addProduct(SIMD8<Float>(p), SIMD8<Float>(repeating: half(blk) * xd[b]))
            }
        case .f32, .f16:
            preconditionFailure("float weights take float activations")
        }
        return acc.sum() + offsetSum
    }

    /// The scalar twin of `dot`.
    public static func dotScalar(_ format: WeightMatrix.Format, _ w: UnsafeRawPointer, blocks: Int,
                                 _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Float>) -> Float {
        var total: Float = 0
        for b in 0..<blocks {
            let blk = w + b * format.blockBytes
            var isum = 0
            var xsum = 0
            for j in 0..<32 {
                let xv = Int(xq[b * 32 + j])
                xsum += xv
                switch format {
                case .q4_0, .q4_1:
                    let byte = blk.load(fromByteOffset: (format == .q4_1 ? 4 : 2) + j % 16, as: UInt8.self)
                    let nibble = Int(j < 16 ? byte & 0x0F : byte >> 4)
                    isum += (format == .q4_0 ? nibble - 8 : nibble) * xv
                case .q8_0:
                    isum += Int(blk.load(fromByteOffset: 2 + j, as: Int8.self)) * xv
                case .f32, .f16:
                    preconditionFailure()
                }
            }
            _ = xsum
            total += half(blk) * xd[b] * Float(isum)
            if format == .q4_1 { total += half(blk, 2) * xs[b] }
        }
        return total
    }

    /// One float or half weight row · one float activation row.
    @inline(__always)
    public static func dotFloat(_ format: WeightMatrix.Format, _ w: UnsafeRawPointer, columns: Int, _ x: UnsafePointer<Float>) -> Float {
        var acc = SIMD8<Float>()
        var j = 0
        let xr = UnsafeRawPointer(x)
        switch format {
        case .f32:
            while j + 8 <= columns {
                acc.addProduct(w.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self))
                j += 8
            }
            var tail: Float = 0
            while j < columns { tail += w.loadUnaligned(fromByteOffset: 4 * j, as: Float.self) * x[j]; j += 1 }
            return acc.sum() + tail
        case .f16:
            while j + 8 <= columns {
                let h = w.loadUnaligned(fromByteOffset: 2 * j, as: SIMD8<UInt16>.self)
                var f = SIMD8<Float>()
                for l in 0..<8 { f[l] = Float(Float16(bitPattern: h[l])) }
                acc.addProduct(f, xr.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self))
                j += 8
            }
            var tail: Float = 0
            while j < columns { tail += half(w, 2 * j) * x[j]; j += 1 }
            return acc.sum() + tail
        default:
            preconditionFailure("quantized weights take quantized activations")
        }
    }
}
