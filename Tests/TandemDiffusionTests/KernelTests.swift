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

    func testConvolutionIm2colMatchesDirect() {
        var random = TestRandom(seed: 2)
        for (cin, cout, kernel, stride, size, batch) in [(3, 8, 3, 1, 16, 2), (8, 8, 3, 2, 8, 3), (12, 5, 1, 1, 4, 2), (4, 6, 3, 1, 5, 1)] {
            let conv = Conv2D(inChannels: cin, outChannels: cout, kernelSize: kernel, stride: stride, padding: kernel / 2,
                              weight: random.array(cout * cin * kernel * kernel), bias: random.array(cout))
            let x = FeatureMap(channels: cin, batch: batch, height: size, width: size, values: random.array(cin * batch * size * size))
            let fast = conv.forward(x, threads: 2), direct = conv.forwardDirect(x)
            XCTAssertEqual(fast.height, direct.height)
            XCTAssertLessThan(nmse(fast.values, direct.values), 1e-12, "cin=\(cin) k=\(kernel) s=\(stride)")
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
        let y = norm.forward(x)
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
