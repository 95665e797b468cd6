import CDiffusionKernels
import Foundation

/// C[m×n] = A[m×k] · B[k×n] (+ C when accumulating), all row-major `Float`.
///
/// The product for attention (two per sample and head) and `Linear`; the convolutions have their
/// own tiled kernel (`Conv2D`, `CDiffusionKernels`). The fast kernel keeps a 4×32 block of C in
/// eight `SIMD16` accumulators (4×64 in zmm registers on AVX-512) and streams rows of B through them; `scalar` is its plain twin, which the tests compare it against by NMSE
/// (STYLE.md habit 8). Rows are split across `threads` when the product is large enough to pay
/// for the hand-off.
public enum MatrixMultiply {
    public static func scalar(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                              m: Int, k: Int, n: Int, accumulate: Bool = false) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = accumulate ? c[i * n + j] : 0
                for p in 0..<k { sum += a[i * k + p] * b[p * n + j] }
                c[i * n + j] = sum
            }
        }
    }

    /// Whether this CPU runs the AVX-512 block (`CDiffusionKernels`); checked once.
    public static let hasAVX512: Bool = tandem_cpu_has_avx512f() != 0

    /// `allowAVX512: false` keeps to the Swift SIMD16 block (the tests check both).
    public static func fast(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                            m: Int, k: Int, n: Int, accumulate: Bool = false, threads: Int = 1,
                            allowAVX512: Bool = true) {
        let avx512 = allowAVX512 && hasAVX512
        let rowBlocks = (m + 3) / 4
        let work = m * n * k
        let parts = min(max(1, threads), rowBlocks)
        if parts > 1 && work >= 1 << 18 {
            let blocksPerPart = (rowBlocks + parts - 1) / parts
            // Each part writes its own rows of C: the pointers are shared, the memory is not.
            let shared = Operands(a: a, b: b, c: c)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let first = part * blocksPerPart * 4
                let last = min(m, (part + 1) * blocksPerPart * 4)
                if first < last { rows(shared.a, shared.b, shared.c, rowRange: first..<last, k: k, n: n, accumulate: accumulate, avx512: avx512) }
            }
        } else {
            rows(a, b, c, rowRange: 0..<m, k: k, n: n, accumulate: accumulate, avx512: avx512)
        }
    }

    private struct Operands: @unchecked Sendable {
        let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// Columns of B per tile. Each tile is copied into a contiguous k × 64 buffer that stays in
    /// L2 while every row block of A passes over it. Reading B in place strides by n floats per
    /// k: with a batch of 32 at 16×16 (n = 8192) every k touched a new page, TLB misses
    /// dominated, and batching made the UNet 1.6× slower per sample instead of faster.
    public static let columnTile = 64

    private static func rows(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                             rowRange: Range<Int>, k: Int, n: Int, accumulate: Bool, avx512: Bool) {
        if n <= columnTile {
            var i = rowRange.lowerBound
            while i < rowRange.upperBound {
                let rowsHere = min(4, rowRange.upperBound - i)
                block(a, b, ldb: n, c, ldc: n, row: i, rows: rowsHere, width: n, k: k, accumulate: accumulate, avx512: avx512)
                i += rowsHere
            }
            return
        }
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: k * columnTile)
        defer { packed.deallocate() }
        var j0 = 0
        while j0 < n {
            let width = min(columnTile, n - j0)
            for p in 0..<k { (packed + p * width).update(from: b + p * n + j0, count: width) }
            let tile = UnsafePointer(packed)
            var i = rowRange.lowerBound
            while i < rowRange.upperBound {
                let rowsHere = min(4, rowRange.upperBound - i)
                block(a, tile, ldb: width, c + j0, ldc: n, row: i, rows: rowsHere, width: width, k: k, accumulate: accumulate, avx512: avx512)
                i += rowsHere
            }
            j0 += width
        }
    }

    @inline(__always)
    private static func block(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                              row i: Int, rows rowsHere: Int, width: Int, k: Int, accumulate: Bool, avx512: Bool) {
        let end32 = width - width % 32
        let end16 = width - width % 16
        if rowsHere == 4 && avx512 && end16 > 0 {
            tandem_gemm_4rows_avx512(a + i * k, Int32(k), b, Int32(ldb), c + i * ldc, Int32(ldc), Int32(k), Int32(end16), accumulate ? 1 : 0)
            if end16 < width { tail(a, b, ldb: ldb, c, ldc: ldc, rows: i..<(i + 4), columns: end16..<width, k: k, accumulate: accumulate) }
        } else if rowsHere == 4 {
            let a0 = a + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
            let c0 = c + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
            var j = 0
            while j < end32 {
                var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>()
                var s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>()
                if accumulate {
                    s00 = load(c0 + j); s01 = load(c0 + j + 16); s10 = load(c1 + j); s11 = load(c1 + j + 16)
                    s20 = load(c2 + j); s21 = load(c2 + j + 16); s30 = load(c3 + j); s31 = load(c3 + j + 16)
                }
                var bp = b + j
                for p in 0..<k {
                    let b0 = load(bp), b1 = load(bp + 16)
                    let x0 = SIMD16<Float>(repeating: a0[p]), x1 = SIMD16<Float>(repeating: a1[p])
                    let x2 = SIMD16<Float>(repeating: a2[p]), x3 = SIMD16<Float>(repeating: a3[p])
                    s00.addProduct(x0, b0); s01.addProduct(x0, b1)
                    s10.addProduct(x1, b0); s11.addProduct(x1, b1)
                    s20.addProduct(x2, b0); s21.addProduct(x2, b1)
                    s30.addProduct(x3, b0); s31.addProduct(x3, b1)
                    bp += ldb
                }
                store(s00, c0 + j); store(s01, c0 + j + 16); store(s10, c1 + j); store(s11, c1 + j + 16)
                store(s20, c2 + j); store(s21, c2 + j + 16); store(s30, c3 + j); store(s31, c3 + j + 16)
                j += 32
            }
            while j < end16 {
                var s0 = accumulate ? load(c0 + j) : SIMD16<Float>(), s1 = accumulate ? load(c1 + j) : SIMD16<Float>()
                var s2 = accumulate ? load(c2 + j) : SIMD16<Float>(), s3 = accumulate ? load(c3 + j) : SIMD16<Float>()
                var bp = b + j
                for p in 0..<k {
                    let bv = load(bp)
                    s0.addProduct(SIMD16(repeating: a0[p]), bv); s1.addProduct(SIMD16(repeating: a1[p]), bv)
                    s2.addProduct(SIMD16(repeating: a2[p]), bv); s3.addProduct(SIMD16(repeating: a3[p]), bv)
                    bp += ldb
                }
                store(s0, c0 + j); store(s1, c1 + j); store(s2, c2 + j); store(s3, c3 + j)
                j += 16
            }
            if j < width { tail(a, b, ldb: ldb, c, ldc: ldc, rows: i..<(i + 4), columns: j..<width, k: k, accumulate: accumulate) }
        } else {
            // Fewer than four rows left: one row at a time.
            for r in i..<(i + rowsHere) {
                let ar = a + r * k, cr = c + r * ldc
                var j = 0
                while j < end16 {
                    var s = accumulate ? load(cr + j) : SIMD16<Float>()
                    var bp = b + j
                    for p in 0..<k { s.addProduct(SIMD16(repeating: ar[p]), load(bp)); bp += ldb }
                    store(s, cr + j)
                    j += 16
                }
                if j < width { tail(a, b, ldb: ldb, c, ldc: ldc, rows: r..<(r + 1), columns: j..<width, k: k, accumulate: accumulate) }
            }
        }
    }

    private static func tail(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                             rows: Range<Int>, columns: Range<Int>, k: Int, accumulate: Bool) {
        for r in rows {
            for j in columns {
                var sum: Float = accumulate ? c[r * ldc + j] : 0
                for p in 0..<k { sum += a[r * k + p] * b[p * ldb + j] }
                c[r * ldc + j] = sum
            }
        }
    }
}
