/// torch.nn.Linear on row vectors: y[b] = W · x[b] + bias, W stored [out][in].
///
/// `forward` is one `MatrixMultiply.fast` product X · Wᵀ over all rows (Wᵀ kept from load);
/// `forwardScalar` is its loop twin.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: [Float]
    public let bias: [Float]
    /// [in][out]: the right-hand operand of the product.
    let transposedWeight: [Float]

    public init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures)
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.weight = weight; self.bias = bias
        var transposed = [Float](repeating: 0, count: weight.count)
        for o in 0..<outFeatures { for i in 0..<inFeatures { transposed[i * outFeatures + o] = weight[o * inFeatures + i] } }
        transposedWeight = transposed
    }

    /// `x` holds `rows` row vectors of `inFeatures`; returns `rows` row vectors of `outFeatures`.
    public func forward(_ x: [Float], rows: Int) -> [Float] {
        precondition(x.count == rows * inFeatures)
        var out = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows { for o in 0..<outFeatures { out[r * outFeatures + o] = bias[o] } }
        x.withUnsafeBufferPointer { xp in transposedWeight.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
            MatrixMultiply.fast(xp.baseAddress!, wp.baseAddress!, op.baseAddress!, m: rows, k: inFeatures, n: outFeatures, accumulate: true)
        } } }
        return out
    }

    public func forwardScalar(_ x: [Float], rows: Int) -> [Float] {
        precondition(x.count == rows * inFeatures)
        var out = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = bias[o]
                let w = o * inFeatures, xi = r * inFeatures
                for i in 0..<inFeatures { sum += weight[w + i] * x[xi + i] }
                out[r * outFeatures + o] = sum
            }
        }
        return out
    }
}
