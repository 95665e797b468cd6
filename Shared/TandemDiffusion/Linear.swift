/// torch.nn.Linear on row vectors: y[b] = W · x[b] + bias, W stored [out][in].
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: [Float]
    public let bias: [Float]

    public init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures)
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.weight = weight; self.bias = bias
    }

    /// `x` holds `rows` row vectors of `inFeatures`; returns `rows` row vectors of `outFeatures`.
    public func forward(_ x: [Float], rows: Int) -> [Float] {
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
