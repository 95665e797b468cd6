import CTandemKernels
import Foundation

/// The element-wise and row-wise float operations of a Llama block — RMSNorm, RoPE, softmax,
/// SiLU — in SIMD form, each with a plain scalar twin that tests compare against.
public enum VectorMath {
    // MARK: exp

    /// e^x for eight lanes: 2^n · p(f) with n = round(x·log₂e) and a degree-6 polynomial on the
    /// remainder (relative error ~1e-7 over the range softmax and SiLU use). Inputs are clamped to
    /// [−87, 88] so the exponent never leaves the normal range.
    @inlinable @inline(__always)
    public static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = x.clamped(lowerBound: SIMD8(repeating: -87), upperBound: SIMD8(repeating: 88))
        let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        let f = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
        var p = SIMD8<Float>(repeating: 1.0 / 720)
        p = p * f + 1.0 / 120
        p = p * f + 1.0 / 24
        p = p * f + 1.0 / 6
        p = p * f + 0.5
        p = p * f + 1
        p = p * f + 1
        // n is integral: read it out of the mantissa after adding 1.5·2²³ (Swift's SIMD
        // float→int initializers compile to out-of-line calls).
        let integer = unsafeBitCast(n + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let bits = (integer &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    // MARK: RMSNorm

    /// y = x / √(mean(x²) + ε) · weight, for one row of `count` values.
    ///
    /// Squares are summed in double and the scale taken in float, as ggml does: the model
    /// amplifies last-bit differences (see docs/model-runtime.md), so we round like the reference.
    @inline(__always)
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
                               count: Int, into y: UnsafeMutablePointer<Float>) {
        let xr = UnsafeRawPointer(x)
        var acc = SIMD4<Double>()
        var j = 0
        while j + 4 <= count {
            let v = xr.loadUnaligned(fromByteOffset: 4 * j, as: SIMD4<Float>.self)
            let sq = v * v
            acc += SIMD4<Double>(Double(sq[0]), Double(sq[1]), Double(sq[2]), Double(sq[3]))
            j += 4
        }
        var sum = acc.sum()
        while j < count { sum += Double(x[j] * x[j]); j += 1 }
        let mean = Float(sum / Double(count))
        let scale = 1 / (mean + epsilon).squareRoot()
        for i in 0..<count { y[i] = (x[i] * scale) * weight[i] }
    }

    public static func rmsNormScalar(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
                                     count: Int, into y: UnsafeMutablePointer<Float>) {
        var sum: Double = 0
        for i in 0..<count { sum += Double(x[i]) * Double(x[i]) }
        let scale = 1 / (sum / Double(count) + Double(epsilon)).squareRoot()
        for i in 0..<count { y[i] = Float(Double(x[i]) * scale) * weight[i] }
    }

    // MARK: RoPE

    /// Rotates adjacent pairs (x[2i], x[2i+1]) of each of `heads` heads of `headDimension` values
    /// by position·base^(−2i/ropeDimension), for i < ropeDimension/2 (llama.cpp's "normal" RoPE,
    /// which the GGUF conversion of Llama's Q and K weights expects).
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int, ropeDimension: Int,
                            position: Int, base: Float) {
        let pairs = ropeDimension / 2
        let thetaScale = powf(base, -2 / Float(ropeDimension))
        var theta = Float(position)
        for i in 0..<pairs {
            let c = cosf(theta), s = sinf(theta)
            for h in 0..<heads {
                let p = x + h * headDimension + 2 * i
                let x0 = p[0], x1 = p[1]
                p[0] = x0 * c - x1 * s
                p[1] = x0 * s + x1 * c
            }
            theta *= thetaScale
        }
    }

    public static func ropeScalar(_ x: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int, ropeDimension: Int,
                                  position: Int, base: Float) {
        for h in 0..<heads {
            for i in 0..<ropeDimension / 2 {
                let theta = Double(position) * pow(Double(base), -2 * Double(i) / Double(ropeDimension))
                let p = x + h * headDimension + 2 * i
                let x0 = Double(p[0]), x1 = Double(p[1])
                p[0] = Float(x0 * cos(theta) - x1 * sin(theta))
                p[1] = Float(x0 * sin(theta) + x1 * cos(theta))
            }
        }
    }

    // MARK: softmax

    /// In place: x ← exp(x − max) / Σ (`ctk_softmax`: `exp8` in eight lanes, in C because Swift
    /// calls out of line for the clamp's `pointwiseMin`/`pointwiseMax`).
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        ctk_softmax(x, Int32(count))
    }

    public static func softmaxScalar(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, x[i]) }
        var sum: Double = 0
        for i in 0..<count { let e = exp(Double(x[i] - m)); x[i] = Float(e); sum += e }
        for i in 0..<count { x[i] = Float(Double(x[i]) / sum) }
    }

    // MARK: SiLU

    /// gate ← silu(gate) · up = gate / (1 + e^−gate) · up, the SwiGLU of Llama's feed-forward.
    public static func swiGLU(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let g = UnsafeMutableRawPointer(gate)
        let u = UnsafeRawPointer(up)
        var j = 0
        while j + 8 <= count {
            let v = g.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            let silu = v / (1 + exp8(-v))
            g.storeBytes(of: silu * u.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self), toByteOffset: 4 * j, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count { gate[j] = gate[j] / (1 + expf(-gate[j])) * up[j]; j += 1 }
    }

    public static func swiGLUScalar(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { gate[i] = Float(Double(gate[i]) / (1 + exp(-Double(gate[i]))) * Double(up[i])) }
    }

    // MARK: small helpers for attention

    /// Σ a·b over `count` floats.
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var j = 0
        while j + 16 <= count {
            acc0.addProduct(ar.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self), br.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self))
            acc1.addProduct(ar.loadUnaligned(fromByteOffset: 4 * j + 32, as: SIMD8<Float>.self), br.loadUnaligned(fromByteOffset: 4 * j + 32, as: SIMD8<Float>.self))
            j += 16
        }
        var s = (acc0 + acc1).sum()
        while j < count { s += a[j] * b[j]; j += 1 }
        return s
    }

    /// y += a·x over `count` floats.
    @inlinable @inline(__always)
    public static func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, count: Int) {
        let yr = UnsafeMutableRawPointer(y), xr = UnsafeRawPointer(x)
        var j = 0
        let av = SIMD8<Float>(repeating: a)
        while j + 8 <= count {
            var v = yr.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            v.addProduct(av, xr.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self))
            yr.storeBytes(of: v, toByteOffset: 4 * j, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count { y[j] += a * x[j]; j += 1 }
    }

    /// y += Σⱼ weights[j] · rows[j] for `count` rows of `width` floats, `stride` floats apart:
    /// attention's weighted sum of values over one cache block (`ctk_add_weighted_rows`). `y` stays
    /// in registers 64 floats at a time across all rows (AVX-512; 32 with AVX2); per element the
    /// rows are added in order with a fused multiply-add, as `addScaled` does.
    @inline(__always)
    public static func addWeightedRows(_ y: UnsafeMutablePointer<Float>, rows: UnsafePointer<Float>, stride: Int,
                                       weights: UnsafePointer<Float>, count: Int, width: Int) {
        ctk_add_weighted_rows(y, rows, Int32(stride), weights, Int32(count), Int32(width))
    }

    public static func addWeightedRowsScalar(_ y: UnsafeMutablePointer<Float>, rows: UnsafePointer<Float>, stride: Int,
                                             weights: UnsafePointer<Float>, count: Int, width: Int) {
        for i in 0..<width {
            var sum = Double(y[i])
            for j in 0..<count { sum += Double(weights[j]) * Double(rows[j * stride + i]) }
            y[i] = Float(sum)
        }
    }

    /// Attention scores of `queries` queries against `keyCount` keys:
    /// `scores[r · scoreStride + j] = scale · (q_r · k_j)`, q_r at `q + r · queryStride`, k_j at
    /// `keys + j · keyStride`, `dimension` floats each, with `dot`'s arithmetic. A score does not
    /// depend on the other queries or keys of the call (`ctk_attention_scores` has the order).
    @inline(__always)
    public static func attentionScores(q: UnsafePointer<Float>, queryStride: Int, queries: Int, keys: UnsafePointer<Float>, keyStride: Int,
                                       keyCount: Int, dimension: Int, scale: Float, into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        ctk_attention_scores(q, Int32(queryStride), Int32(queries), keys, Int32(keyStride), Int32(keyCount), Int32(dimension), scale,
                             scores, Int32(scoreStride))
    }

    public static func attentionScoresScalar(q: UnsafePointer<Float>, queryStride: Int, queries: Int, keys: UnsafePointer<Float>, keyStride: Int,
                                             keyCount: Int, dimension: Int, scale: Float, into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        for r in 0..<queries {
            for j in 0..<keyCount {
                var sum: Double = 0
                for d in 0..<dimension { sum += Double(q[r * queryStride + d]) * Double(keys[j * keyStride + d]) }
                scores[r * scoreStride + j] = Float(sum * Double(scale))
            }
        }
    }

    /// Normalized mean squared error Σ(a−b)² / Σb², the measure every kernel test uses.
    public static func nmse(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var num: Double = 0, den: Double = 0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            num += d * d
            den += Double(b[i]) * Double(b[i])
        }
        return den == 0 ? num : num / den
    }
}
