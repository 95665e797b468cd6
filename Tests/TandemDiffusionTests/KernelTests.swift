import TandemDiffusion
import XCTest

/// Every fast kernel against its scalar twin, by normalized mean squared error.
final class KernelTests: XCTestCase {
    func testMatrixMultiplyMatchesScalarOnAwkwardShapes() {
        var random = TestRandom(seed: 1)
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (4, 9, 16), (5, 27, 33), (64, 288, 256), (7, 13, 48), (32, 64, 1024)] {
            for accumulate in [false, true] {
                for avx512 in [false, true] {
                    let a = random.array(m * k), b = random.array(k * n), c0 = random.array(m * n)
                    var fast = c0, slow = c0
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                        fast.withUnsafeMutableBufferPointer { MatrixMultiply.fast(ap.baseAddress!, bp.baseAddress!, $0.baseAddress!, m: m, k: k, n: n, accumulate: accumulate, threads: 2, allowAVX512: avx512) }
                        slow.withUnsafeMutableBufferPointer { MatrixMultiply.scalar(ap.baseAddress!, bp.baseAddress!, $0.baseAddress!, m: m, k: k, n: n, accumulate: accumulate) }
                    } }
                    XCTAssertLessThan(nmse(fast, slow), 1e-12, "m=\(m) k=\(k) n=\(n) accumulate=\(accumulate) avx512=\(avx512)")
                }
            }
        }
    }

    /// Every instruction-set level this CPU runs, against the direct convolution; shapes cover
    /// stride 2, 1×1, odd sizes, output channels not a multiple of 4, columns not a multiple of
    /// the 64-column tile, a reduction longer than one 128-row chunk, fused upsampling and the
    /// residual addend with an output scale.
    func testConvolutionMatchesDirectAtEveryLevel() {
        var random = TestRandom(seed: 2)
        let shapes = [(3, 8, 3, 1, 16, 2, 1), (8, 8, 3, 2, 8, 3, 1), (12, 5, 1, 1, 4, 2, 1), (4, 6, 3, 1, 5, 1, 1),
                      (20, 7, 3, 1, 6, 3, 1), (6, 9, 3, 1, 4, 3, 2), (33, 4, 3, 1, 7, 1, 2)]
        for (cin, cout, kernel, stride, size, batch, upsample) in shapes {
            let conv = Conv2D(inChannels: cin, outChannels: cout, kernelSize: kernel, stride: stride, padding: kernel / 2,
                              weight: random.array(cout * cin * kernel * kernel), bias: random.array(cout))
            let x = FeatureMap(channels: cin, batch: batch, height: size, width: size, values: random.array(cin * batch * size * size))
            var direct = conv.forwardDirect(upsample == 2 ? x.upsampledNearest2x() : x)
            let addend = FeatureMap(channels: cout, batch: batch, height: direct.height, width: direct.width, values: random.array(direct.values.count))
            for i in direct.values.indices { direct.values[i] = (direct.values[i] + addend.values[i]) * 0.5 }
            for level in 0...Conv2D.bestLevel {
                for threads in [1, 2] {
                    let fast = conv.forward(x, threads: threads, upsample: upsample, addend: addend, outputScale: 0.5, level: level, winograd: false)
                    XCTAssertEqual(fast.height, direct.height)
                    XCTAssertLessThan(nmse(fast.values, direct.values), 1e-12,
                                      "cin=\(cin) cout=\(cout) k=\(kernel) s=\(stride) size=\(size) up=\(upsample) level=\(level) threads=\(threads)")
                }
            }
            let plain = conv.forward(x.upsampledNearest2x(), level: Conv2D.bestLevel)
            XCTAssertLessThan(nmse(plain.values, conv.forwardDirect(x.upsampledNearest2x()).values), 1e-12)
        }
    }

    /// Winograd F(2×2, 3×3) against the direct convolution: every output width it takes (4, 8, 16,
    /// 32), a last block of 64 tiles left partly empty, more input channels than one 128-channel
    /// chunk, output channels not a multiple of 4, fused upsampling, the addend and output scale.
    func testWinogradMatchesDirect() throws {
        try XCTSkipIf(Conv2D.bestLevel < 2, "Winograd runs on AVX-512 only")
        var random = TestRandom(seed: 7)
        let shapes = [(5, 6, 8, 4, 1), (20, 7, 16, 1, 1), (130, 9, 4, 16, 2), (3, 5, 32, 1, 1), (8, 4, 8, 5, 1),
                      (6, 8, 4, 17, 1), (4, 4, 16, 1, 2), (64, 8, 8, 2, 2), (96, 32, 16, 3, 1)]
        for (cin, cout, size, batch, upsample) in shapes {
            let conv = Conv2D(inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1,
                              weight: random.array(cout * cin * 9), bias: random.array(cout))
            let x = FeatureMap(channels: cin, batch: batch, height: size, width: size, values: random.array(cin * batch * size * size))
            XCTAssertTrue(conv.runsWinograd(x, upsample: upsample), "cin=\(cin) size=\(size) batch=\(batch) up=\(upsample)")
            var direct = conv.forwardDirect(upsample == 2 ? x.upsampledNearest2x() : x)
            let addend = FeatureMap(channels: cout, batch: batch, height: direct.height, width: direct.width, values: random.array(direct.values.count))
            for i in direct.values.indices { direct.values[i] = (direct.values[i] + addend.values[i]) * 0.5 }
            for threads in [1, 2] {
                let fast = conv.forward(x, threads: threads, upsample: upsample, addend: addend, outputScale: 0.5)
                XCTAssertLessThan(nmse(fast.values, direct.values), 1e-12,
                                  "cin=\(cin) cout=\(cout) size=\(size) batch=\(batch) up=\(upsample) threads=\(threads)")
            }
        }
        let small = Conv2D(inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, weight: random.array(144), bias: random.array(4))
        XCTAssertFalse(small.runsWinograd(FeatureMap(channels: 4, batch: 15, height: 4, width: 4, values: random.array(960))),
                       "60 tiles leave the 64-column product mostly empty: the tiled kernel runs")
    }

    func testLinearMatchesScalarTwin() {
        var random = TestRandom(seed: 6)
        for (inFeatures, outFeatures, rows) in [(32, 128, 3), (128, 64, 17), (5, 7, 2)] {
            let linear = Linear(inFeatures: inFeatures, outFeatures: outFeatures, weight: random.array(inFeatures * outFeatures), bias: random.array(outFeatures))
            let x = random.array(rows * inFeatures)
            XCTAssertLessThan(nmse(linear.forward(x, rows: rows), linear.forwardScalar(x, rows: rows)), 1e-12)
        }
    }

    func testGroupNormKernelMatchesScalarTwin() {
        var random = TestRandom(seed: 5)
        for (channels, groups, batch, size) in [(8, 2, 2, 3), (32, 8, 3, 4), (64, 8, 2, 16), (16, 4, 1, 5)] {
            let x = FeatureMap(channels: channels, batch: batch, height: size, width: size,
                               values: random.array(channels * batch * size * size).map { $0 * 4 + 1 })
            let norm = GroupNorm(groups: groups, channels: channels, eps: 1e-5, weight: random.array(channels), bias: random.array(channels))
            let shift = random.array(channels * batch).map { $0 * 3 }
            var shifted = x
            for c in 0..<channels { for b in 0..<batch { for p in 0..<x.pixels { shifted.values[(c * batch + b) * x.pixels + p] += shift[c * batch + b] } } }
            for silu in [false, true] {
                XCTAssertLessThan(nmse(norm.forward(x, silu: silu).values, norm.forwardScalar(x, silu: silu).values), 1e-12)
                XCTAssertLessThan(nmse(norm.forward(x, silu: silu, shift: shift).values, norm.forwardScalar(shifted, silu: silu).values), 1e-12,
                                  "channels=\(channels) size=\(size) silu=\(silu)")
            }
        }
    }

    func testAttentionCoreMatchesScalar() {
        var random = TestRandom(seed: 3)
        let c = 16, batch = 2, size = 4
        let ident = Conv2D(inChannels: c, outChannels: c, kernelSize: 1, padding: 0, weight: random.array(c * c), bias: random.array(c))
        let norm = GroupNorm(groups: 4, channels: c, eps: 1e-5, weight: random.array(c), bias: random.array(c))
        let block = AttentionBlock(channels: c, heads: 2, norm: norm, query: ident, key: ident, value: ident, output: ident, rescaleOutputFactor: 1)
        let q = FeatureMap(channels: c, batch: batch, height: size, width: size, values: random.array(c * batch * size * size).map { $0 * 3 })
        let k = FeatureMap(channels: c, batch: batch, height: size, width: size, values: random.array(c * batch * size * size).map { $0 * 3 })
        let v = FeatureMap(channels: c, batch: batch, height: size, width: size, values: random.array(c * batch * size * size))
        XCTAssertLessThan(nmse(block.coreFast(q, k, v).values, block.coreScalar(q, k, v).values), 1e-11)
    }

    func testGroupNormMatchesDefinition() {
        var random = TestRandom(seed: 4)
        let c = 8, batch = 2, size = 3
        let x = FeatureMap(channels: c, batch: batch, height: size, width: size, values: random.array(c * batch * size * size).map { $0 * 5 + 2 })
        let norm = GroupNorm(groups: 2, channels: c, eps: 1e-5, weight: random.array(c), bias: random.array(c))
        let y = norm.forwardScalar(x)
        for b in 0..<batch {
            for g in 0..<2 {
                var values: [Double] = []
                for ch in (g * 4)..<(g * 4 + 4) { for p in 0..<9 { values.append(Double(x.values[(ch * batch + b) * 9 + p])) } }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                for ch in (g * 4)..<(g * 4 + 4) {
                    for p in 0..<9 {
                        let i = (ch * batch + b) * 9 + p
                        let expected = (Double(x.values[i]) - mean) / (variance + 1e-5).squareRoot() * Double(norm.weight[ch]) + Double(norm.bias[ch])
                        XCTAssertEqual(Double(y.values[i]), expected, accuracy: 1e-4)
                    }
                }
            }
        }
    }
}
