/// diffusers' `ResnetBlock2D` with `time_embedding_norm="default"`:
/// norm1 → SiLU → conv1 → + time projection → norm2 → SiLU → conv2, plus the (optionally
/// 1×1-projected) input, divided by `outputScaleFactor`.
public struct ResnetBlock2D: Sendable {
    public let norm1: GroupNorm
    public let conv1: Conv2D
    public let timeProjection: Linear
    public let norm2: GroupNorm
    public let conv2: Conv2D
    public let shortcut: Conv2D?
    public let outputScaleFactor: Float

    public init(norm1: GroupNorm, conv1: Conv2D, timeProjection: Linear, norm2: GroupNorm, conv2: Conv2D, shortcut: Conv2D?, outputScaleFactor: Float) {
        self.norm1 = norm1; self.conv1 = conv1; self.timeProjection = timeProjection
        self.norm2 = norm2; self.conv2 = conv2; self.shortcut = shortcut; self.outputScaleFactor = outputScaleFactor
    }

    /// `activatedEmbedding` is SiLU(temb), one row of `timeProjection.inFeatures` per sample.
    /// The fast path adds the time projection inside norm2 and the residual as conv2 writes its
    /// output; `scalar` runs the same block as separate plain steps (the twin).
    public func forward(_ x: FeatureMap, activatedEmbedding: [Float], threads: Int = 1, scalar: Bool = false) -> FeatureMap {
        let t = scalar ? timeProjection.forwardScalar(activatedEmbedding, rows: x.batch)
            : timeProjection.forward(activatedEmbedding, rows: x.batch)  // [batch][channels]
        let channels = conv1.outChannels
        if scalar {
            var h = conv1.forwardDirect(norm1.forwardScalar(x, silu: true))
            let hw = h.pixels
            for c in 0..<channels {
                for b in 0..<h.batch {
                    let add = t[b * channels + c], base = (c * h.batch + b) * hw
                    for i in 0..<hw { h.values[base + i] += add }
                }
            }
            h = conv2.forwardDirect(norm2.forwardScalar(h, silu: true))
            let residual = shortcut.map { $0.forwardDirect(x) } ?? x
            for i in h.values.indices { h.values[i] = (h.values[i] + residual.values[i]) / outputScaleFactor }
            return h
        }
        let h = conv1.forward(norm1.forward(x, silu: true), threads: threads)
        var shift = [Float](repeating: 0, count: channels * x.batch)  // [channels][batch]
        for b in 0..<x.batch { for c in 0..<channels { shift[c * x.batch + b] = t[b * channels + c] } }
        let residual = shortcut.map { $0.forward(x, threads: threads) } ?? x
        return conv2.forward(norm2.forward(h, silu: true, shift: shift), threads: threads, addend: residual,
                             outputScale: 1 / outputScaleFactor)
    }
}
