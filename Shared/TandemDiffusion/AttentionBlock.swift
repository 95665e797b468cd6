import Foundation

/// diffusers' `Attention` as used by `AttnDownBlock2D`, `AttnUpBlock2D` and `UNetMidBlock2D`:
/// group norm, multi-head self-attention over the pixels of each sample, output projection,
/// residual, divided by `rescaleOutputFactor`.
///
/// The projections are pointwise convolutions over the whole batch (one matrix product each);
/// scores and the weighted sum are two products per sample and head (`coreFast`). `coreScalar` is
/// the loop-by-loop twin the tests compare it with.
public struct AttentionBlock: Sendable {
    public let channels: Int
    public let heads: Int
    public let norm: GroupNorm
    public let query: Conv2D
    public let key: Conv2D
    public let value: Conv2D
    public let output: Conv2D
    public let rescaleOutputFactor: Float

    public init(channels: Int, heads: Int, norm: GroupNorm, query: Conv2D, key: Conv2D, value: Conv2D, output: Conv2D, rescaleOutputFactor: Float) {
        precondition(channels % heads == 0)
        self.channels = channels; self.heads = heads; self.norm = norm
        self.query = query; self.key = key; self.value = value; self.output = output
        self.rescaleOutputFactor = rescaleOutputFactor
    }

    public func forward(_ x: FeatureMap, threads: Int = 1, scalar: Bool = false) -> FeatureMap {
        if scalar {
            let h = norm.forwardScalar(x)
            var out = output.forwardDirect(coreScalar(query.forwardDirect(h), key.forwardDirect(h), value.forwardDirect(h)))
            for i in out.values.indices { out.values[i] = (out.values[i] + x.values[i]) / rescaleOutputFactor }
            return out
        }
        let h = norm.forward(x)
        let q = query.forward(h, threads: threads), k = key.forward(h, threads: threads), v = value.forward(h, threads: threads)
        // The residual is added as the output projection writes its tiles.
        let attended = OpProfile.shared.measure(.attention) { coreFast(q, k, v) }
        return output.forward(attended, threads: threads, addend: x, outputScale: 1 / rescaleOutputFactor)
    }

    public func coreFast(_ q: FeatureMap, _ k: FeatureMap, _ v: FeatureMap) -> FeatureMap {
        let d = channels / heads, n = q.pixels, batch = q.batch
        let scale = 1 / Float(d).squareRoot()
        var out = FeatureMap(channels: channels, batch: batch, height: q.height, width: q.width)
        var qt = [Float](repeating: 0, count: n * d)      // [pixel][d]
        var kh = [Float](repeating: 0, count: d * n)      // [d][pixel]
        var vh = [Float](repeating: 0, count: d * n)
        var scores = [Float](repeating: 0, count: n * n)  // [query pixel][key pixel]
        var scoresT = [Float](repeating: 0, count: n * n)
        var oh = [Float](repeating: 0, count: d * n)
        for b in 0..<batch {
            for head in 0..<heads {
                for c in 0..<d {
                    let base = ((head * d + c) * batch + b) * n
                    for p in 0..<n {
                        qt[p * d + c] = q.values[base + p] * scale
                        kh[c * n + p] = k.values[base + p]
                        vh[c * n + p] = v.values[base + p]
                    }
                }
                qt.withUnsafeBufferPointer { qp in kh.withUnsafeBufferPointer { kp in scores.withUnsafeMutableBufferPointer { sp in
                    MatrixMultiply.fast(qp.baseAddress!, kp.baseAddress!, sp.baseAddress!, m: n, k: d, n: n)
                } } }
                for i in 0..<n {
                    var maxScore = -Float.infinity
                    for j in 0..<n { maxScore = max(maxScore, scores[i * n + j]) }
                    var sum: Float = 0
                    for j in 0..<n { let e = expf(scores[i * n + j] - maxScore); scores[i * n + j] = e; sum += e }
                    let inv = 1 / sum
                    for j in 0..<n { scoresT[j * n + i] = scores[i * n + j] * inv }
                }
                vh.withUnsafeBufferPointer { vp in scoresT.withUnsafeBufferPointer { sp in oh.withUnsafeMutableBufferPointer { op in
                    MatrixMultiply.fast(vp.baseAddress!, sp.baseAddress!, op.baseAddress!, m: d, k: n, n: n)
                } } }
                for c in 0..<d {
                    let base = ((head * d + c) * batch + b) * n
                    for p in 0..<n { out.values[base + p] = oh[c * n + p] }
                }
            }
        }
        return out
    }

    public func coreScalar(_ q: FeatureMap, _ k: FeatureMap, _ v: FeatureMap) -> FeatureMap {
        let d = channels / heads, n = q.pixels, batch = q.batch
        var out = FeatureMap(channels: channels, batch: batch, height: q.height, width: q.width)
        func at(_ m: FeatureMap, _ c: Int, _ b: Int, _ p: Int) -> Float { m.values[(c * batch + b) * n + p] }
        for b in 0..<batch {
            for head in 0..<heads {
                for i in 0..<n {
                    var weights = [Double](repeating: 0, count: n)
                    for j in 0..<n {
                        var dot = 0.0
                        for c in 0..<d { dot += Double(at(q, head * d + c, b, i)) * Double(at(k, head * d + c, b, j)) }
                        weights[j] = dot / Double(d).squareRoot()
                    }
                    let m = weights.max()!
                    let exps = weights.map { Foundation.exp($0 - m) }
                    let total = exps.reduce(0, +)
                    for c in 0..<d {
                        var sum = 0.0
                        for j in 0..<n { sum += exps[j] / total * Double(at(v, head * d + c, b, j)) }
                        out.values[((head * d + c) * batch + b) * n + i] = Float(sum)
                    }
                }
            }
        }
        return out
    }
}
