import TandemKernels
import XCTest

/// Every fast kernel against its scalar twin, by normalized mean squared error.
final class KernelTests: XCTestCase {
    var rng = SystemRandomNumberGenerator()

    func randomFloats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale) } }

    func testQuantizeMatchesScalar() {
        let x = randomFloats(32 * 18, scale: 3)
        let a = QuantizedActivations(rows: 1, columns: x.count), b = QuantizedActivations(rows: 1, columns: x.count)
        defer { a.deallocate(); b.deallocate() }
        a.quantize(x, count: 1)
        b.quantizeScalar(x, count: 1)
        for i in 0..<x.count { XCTAssertEqual(a.values[i], b.values[i]) }
        for i in 0..<a.blocksPerRow { XCTAssertEqual(a.scales[i], b.scales[i]); XCTAssertEqual(a.sums[i], b.sums[i], accuracy: 1e-4) }
    }

    func testQuantizedDotsMatchScalarAndFloatReference() {
        for format in [WeightMatrix.Format.q4_0, .q4_1, .q8_0] {
            let columns = 576, rows = 40
            let w = randomFloats(rows * columns)
            let bytes = WeightQuantizer.encode(w, as: format)
            let tokens = 6  // one group of four (the 4-row kernel) and two single rows
            let x = randomFloats(tokens * columns, scale: 2)
            let xq = QuantizedActivations(rows: tokens, columns: columns)
            defer { xq.deallocate() }
            xq.quantize(x, count: tokens)
            bytes.withUnsafeBytes { raw in
                let m = WeightMatrix(format: format, rows: rows, columns: columns, data: raw.baseAddress!)
                var fast = [Float](repeating: 0, count: tokens * rows), slow = fast, reference = fast
                let pool = ComputePool(threadCount: 2)
                defer { pool.shutdown() }
                fast.withUnsafeMutableBufferPointer { out in
                    Matmul.multiply([MatmulJob(weight: m, output: out.baseAddress!, outputStride: rows)], x: x, xq: xq, tokens: tokens, pool: pool)
                }
                slow.withUnsafeMutableBufferPointer { out in
                    Matmul.multiplyScalar(MatmulJob(weight: m, output: out.baseAddress!, outputStride: rows), x: x, xq: xq, tokens: tokens)
                }
                // Float reference: dequantized weights · unquantized activations.
                var row = [Float](repeating: 0, count: columns)
                for r in 0..<rows {
                    row.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
                    for t in 0..<tokens { reference[t * rows + r] = zip(row, x[t * columns..<(t + 1) * columns]).map { $0 * $1 }.reduce(0, +) }
                }
                XCTAssertLessThan(VectorMath.nmse(fast, slow), 1e-10, "\(format) SIMD vs scalar")
                // The Swift SIMD kernel (kept for comparison) agrees too.
                let a = xq
                for r in 0..<rows {
                    let v = QuantizedDot.dotSwift(format, m.row(r), blocks: columns / 32, a.values, a.scales, a.sums)
                    XCTAssertEqual(v, slow[r], accuracy: 1e-3 * max(1, abs(slow[r])))
                }
                XCTAssertLessThan(VectorMath.nmse(fast, reference), 1e-3, "\(format) vs float reference")
            }
        }
    }

    /// The panel kernels (the model's Q4_1 and Q8_0 path) against the scalar twin, and bit for bit
    /// against the row-layout C kernel they reorder (the reference logits rely on that order).
    func testPanelProductsMatchScalarAndRowKernelBitForBit() {
        for format in [WeightMatrix.Format.q4_1, .q8_0] {
            for rows in [8, 43] {  // one whole panel; five and a padded one
                let columns = 576, tokens = 5
                let bytes = WeightQuantizer.encode(randomFloats(rows * columns), as: format)
                let x = randomFloats(tokens * columns, scale: 2)
                let xq = QuantizedActivations(rows: tokens, columns: columns)
                defer { xq.deallocate() }
                xq.quantize(x, count: tokens)
                bytes.withUnsafeBytes { raw in
                    let m = WeightMatrix(format: format, rows: rows, columns: columns, data: raw.baseAddress!)
                    let storage = UnsafeMutableRawPointer.allocate(byteCount: m.panelPackedBytes, alignment: 64)
                    defer { storage.deallocate() }
                    let packed = m.packedIntoPanels(into: storage)
                    XCTAssertEqual(packed.layout, .panels)
                    var fast = [Float](repeating: .nan, count: tokens * rows), rowKernel = fast, slow = fast
                    let pool = ComputePool(threadCount: 2)
                    defer { pool.shutdown() }
                    fast.withUnsafeMutableBufferPointer { out in
                        Matmul.multiply([MatmulJob(weight: packed, output: out.baseAddress!, outputStride: rows)], x: x, xq: xq, tokens: tokens, pool: pool)
                    }
                    rowKernel.withUnsafeMutableBufferPointer { out in
                        Matmul.multiplyRows(MatmulJob(weight: m, output: out.baseAddress!, outputStride: rows), rows: 0..<rows, x: x, xq: xq, tokens: tokens)
                    }
                    slow.withUnsafeMutableBufferPointer { out in
                        Matmul.multiplyScalar(MatmulJob(weight: packed, output: out.baseAddress!, outputStride: rows), x: x, xq: xq, tokens: tokens)
                    }
                    XCTAssertEqual(fast, rowKernel, "\(format), \(rows) rows: panels vs rows")
                    XCTAssertLessThan(VectorMath.nmse(fast, slow), 1e-10, "\(format), \(rows) rows: panels vs scalar")
                    var a = [Float](repeating: 0, count: columns), b = a
                    for r in [0, 7, rows - 1] {
                        a.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
                        b.withUnsafeMutableBufferPointer { packed.dequantizeRow(r, into: $0.baseAddress!) }
                        XCTAssertEqual(a, b, "\(format) row \(r) unpacked from its panel")
                    }
                }
            }
        }
    }

    func testFloatWeightProducts() {
        for format in [WeightMatrix.Format.f32, .f16] {
            let columns = 72, rows = 5
            let bytes = WeightQuantizer.encode(randomFloats(rows * columns), as: format)
            let x = randomFloats(2 * columns)
            bytes.withUnsafeBytes { raw in
                let m = WeightMatrix(format: format, rows: rows, columns: columns, data: raw.baseAddress!)
                var fast = [Float](repeating: 0, count: 2 * rows), slow = fast
                let pool = ComputePool(threadCount: 1)
                fast.withUnsafeMutableBufferPointer { Matmul.multiply([MatmulJob(weight: m, output: $0.baseAddress!, outputStride: rows)], x: x, xq: nil, tokens: 2, pool: pool) }
                slow.withUnsafeMutableBufferPointer { Matmul.multiplyScalar(MatmulJob(weight: m, output: $0.baseAddress!, outputStride: rows), x: x, xq: nil, tokens: 2) }
                XCTAssertLessThan(VectorMath.nmse(fast, slow), 1e-10, "\(format)")
            }
        }
    }

    func testRMSNorm() {
        let x = randomFloats(576, scale: 4), w = randomFloats(576)
        var a = [Float](repeating: 0, count: 576), b = a
        a.withUnsafeMutableBufferPointer { VectorMath.rmsNorm(x, weight: w, epsilon: 1e-5, count: 576, into: $0.baseAddress!) }
        b.withUnsafeMutableBufferPointer { VectorMath.rmsNormScalar(x, weight: w, epsilon: 1e-5, count: 576, into: $0.baseAddress!) }
        XCTAssertLessThan(VectorMath.nmse(a, b), 1e-12)
    }

    func testRoPE() {
        for position in [0, 1, 17, 4000] {
            var a = randomFloats(9 * 64), b = a
            a.withUnsafeMutableBufferPointer { VectorMath.rope($0.baseAddress!, heads: 9, headDimension: 64, ropeDimension: 64, position: position, base: 100_000) }
            b.withUnsafeMutableBufferPointer { VectorMath.ropeScalar($0.baseAddress!, heads: 9, headDimension: 64, ropeDimension: 64, position: position, base: 100_000) }
            XCTAssertLessThan(VectorMath.nmse(a, b), 1e-8, "position \(position)")
        }
    }

    /// Softmax spelled with `VectorMath.exp8` in Swift: eight lanes, their sum in order, the tail with `expf`.
    static func softmaxWithExp8(_ x: [Float]) -> [Float] {
        var x = x
        let m = x.max()!
        var acc = SIMD8<Float>()
        var j = 0
        while j + 8 <= x.count {
            let e = VectorMath.exp8(SIMD8(x[j..<j + 8]) - m)
            for l in 0..<8 { x[j + l] = e[l] }
            acc += e
            j += 8
        }
        var sum = acc.sum()
        while j < x.count { x[j] = expf(x[j] - m); sum += x[j]; j += 1 }
        let inv = 1 / sum
        return x.map { $0 * inv }
    }

    func testSoftmaxAndExp() {
        for n in [1, 7, 8, 100, 1027] {
            var a = randomFloats(n, scale: 30), b = a
            let b0 = b
            a.withUnsafeMutableBufferPointer { VectorMath.softmax($0.baseAddress!, count: n) }
            b.withUnsafeMutableBufferPointer { VectorMath.softmaxScalar($0.baseAddress!, count: n) }
            XCTAssertLessThan(VectorMath.nmse(a, b), 1e-12, "n = \(n)")
            XCTAssertEqual(a.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(a, Self.softmaxWithExp8(b0), "n = \(n): the C softmax has exp8's arithmetic")
        }
        let xs = SIMD8<Float>(-100, -20, -1, 0, 0.5, 3, 40, 88)
        let e = VectorMath.exp8(xs)
        for i in 0..<8 where xs[i] > -87 { XCTAssertEqual(e[i] / expf(xs[i]), 1, accuracy: 1e-5) }
    }

    func testSwiGLU() {
        let up = randomFloats(1539, scale: 3)
        var a = randomFloats(1539, scale: 8), b = a
        a.withUnsafeMutableBufferPointer { VectorMath.swiGLU($0.baseAddress!, up: up, count: up.count) }
        b.withUnsafeMutableBufferPointer { VectorMath.swiGLUScalar($0.baseAddress!, up: up, count: up.count) }
        XCTAssertLessThan(VectorMath.nmse(a, b), 1e-12)
    }

    /// Attention scores against the double-precision twin, equal to `VectorMath.dot` (the
    /// arithmetic attention had), and each score independent of the call's other queries and keys
    /// (what makes a verifying step equal one token at a time).
    func testAttentionScoresMatchScalarAndDotAndDoNotDependOnTheCall() {
        let stride = 192, queries = 5
        for dim in [64, 40] {
            for keyCount in [1, 3, 4, 7, 16] {
                let q = randomFloats(queries * stride), k = randomFloats(keyCount * stride)
                var fast = [Float](repeating: .nan, count: queries * keyCount), slow = fast, alone = fast, dots = fast
                q.withUnsafeBufferPointer { q in
                    k.withUnsafeBufferPointer { k in
                        VectorMath.attentionScores(q: q.baseAddress!, queryStride: stride, queries: queries, keys: k.baseAddress!, keyStride: stride,
                                                   keyCount: keyCount, dimension: dim, scale: 0.125, into: &fast, scoreStride: keyCount)
                        VectorMath.attentionScoresScalar(q: q.baseAddress!, queryStride: stride, queries: queries, keys: k.baseAddress!, keyStride: stride,
                                                         keyCount: keyCount, dimension: dim, scale: 0.125, into: &slow, scoreStride: keyCount)
                        alone.withUnsafeMutableBufferPointer { out in
                            for r in 0..<queries {
                                for j in 0..<keyCount {
                                    VectorMath.attentionScores(q: q.baseAddress! + r * stride, queryStride: stride, queries: 1, keys: k.baseAddress! + j * stride,
                                                               keyStride: stride, keyCount: 1, dimension: dim, scale: 0.125, into: out.baseAddress! + r * keyCount + j, scoreStride: 1)
                                    dots[r * keyCount + j] = VectorMath.dot(q.baseAddress! + r * stride, k.baseAddress! + j * stride, count: dim) * 0.125
                                }
                            }
                        }
                    }
                }
                XCTAssertLessThan(VectorMath.nmse(fast, slow), 1e-12, "dimension \(dim), \(keyCount) keys")
                XCTAssertEqual(fast, alone, "dimension \(dim), \(keyCount) keys: one query and one key at a time")
                XCTAssertEqual(fast, dots, "dimension \(dim), \(keyCount) keys: VectorMath.dot")
            }
        }
    }

    func testAddWeightedRows() {
        for width in [64, 72, 20, 100] {  // whole tiles, a tile and a tail, a tail only, 64 + 32 + 4
            let count = 13, stride = width + 7
            let rows = randomFloats(count * stride), weights = randomFloats(count)
            var a = randomFloats(width), b = a, c = a
            a.withUnsafeMutableBufferPointer { VectorMath.addWeightedRows($0.baseAddress!, rows: rows, stride: stride, weights: weights, count: count, width: width) }
            b.withUnsafeMutableBufferPointer { VectorMath.addWeightedRowsScalar($0.baseAddress!, rows: rows, stride: stride, weights: weights, count: count, width: width) }
            c.withUnsafeMutableBufferPointer { y in
                rows.withUnsafeBufferPointer { r in
                    for j in 0..<count { VectorMath.addScaled(y.baseAddress!, r.baseAddress! + j * stride, weights[j], count: width) }
                }
            }
            XCTAssertLessThan(VectorMath.nmse(a, b), 1e-12, "width \(width)")
            XCTAssertEqual(a, c, "width \(width): same order as one row at a time")
        }
    }

    func testComputePoolRunsEveryChunkOnceAndDegradesToOneThread() {
        final class Counts: @unchecked Sendable {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
            init() { hits.initialize(repeating: 0, count: 1000) }
            deinit { hits.deallocate() }
        }
        for threads in [1, 2, 3] {
            let pool = ComputePool(threadCount: threads)
            for round in 0..<50 {
                let counts = Counts()
                let n = round % 2 == 0 ? 1000 : 3
                pool.run(chunkCount: n) { counts.hits[$0] += 1 }
                XCTAssertTrue((0..<n).allSatisfy { counts.hits[$0] == 1 })
            }
            pool.shutdown()
        }
    }
}
