/// What one UNet sample costs in arithmetic, counted from the architecture: the compute bound
/// `tandem bench render` prints beside its measured times.
extension UNet2DModel {
    /// Multiply-adds of one sample's forward pass: convolutions, attention (projections, scores
    /// and the weighted sum) and the time/class MLPs. Norms and activations are not counted.
    public var multiplyAddsPerSample: Int {
        var size = config.sampleSize
        func resnet(_ r: ResnetBlock2D) -> Int {
            r.conv1.multiplyAdds(inputSize: size) + r.conv2.multiplyAdds(inputSize: size)
                + (r.shortcut?.multiplyAdds(inputSize: size) ?? 0) + r.timeProjection.inFeatures * r.timeProjection.outFeatures
        }
        func attention(_ a: AttentionBlock) -> Int {
            let pixels = size * size
            return 4 * a.channels * a.channels * pixels + 2 * a.channels * pixels * pixels
        }
        var total = convIn.multiplyAdds(inputSize: size)
            + timeLinear1.inFeatures * timeLinear1.outFeatures + timeLinear2.inFeatures * timeLinear2.outFeatures
        for block in downBlocks {
            for r in block.resnets { total += resnet(r) }
            for a in block.attentions { total += attention(a) }
            if let down = block.downsampler { total += down.multiplyAdds(inputSize: size); size = (size + 1) / 2 }
        }
        if let mid = midBlock {
            total += mid.resnets.map(resnet).reduce(0, +) + (mid.attention.map(attention) ?? 0)
        }
        for block in upBlocks {
            for r in block.resnets { total += resnet(r) }
            for a in block.attentions { total += attention(a) }
            if let up = block.upsampler { size *= 2; total += up.multiplyAdds(inputSize: size) }
        }
        return total + convOut.multiplyAdds(inputSize: size)
    }
}
