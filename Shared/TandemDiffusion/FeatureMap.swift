/// Activations of a batch in channel-major layout: `values[((c * batch + b) * height + y) * width + x]`.
///
/// Channel-major ("CBHW") makes a convolution over the whole batch one matrix product,
/// W[cout × cin·9] · im2col[cin·9 × batch·h·w], whose result is already in this layout, and makes
/// concatenation along channels (the UNet's skip connections) an append.
public struct FeatureMap: Sendable {
    public var channels: Int
    public var batch: Int
    public var height: Int
    public var width: Int
    public var values: [Float]

    public init(channels: Int, batch: Int, height: Int, width: Int, values: [Float]) {
        precondition(values.count == channels * batch * height * width, "feature map size mismatch")
        self.channels = channels; self.batch = batch; self.height = height; self.width = width; self.values = values
    }

    public init(channels: Int, batch: Int, height: Int, width: Int) {
        self.init(channels: channels, batch: batch, height: height, width: width,
                  values: [Float](repeating: 0, count: channels * batch * height * width))
    }

    /// For outputs that the caller overwrites entirely: no zero fill.
    init(uninitializedChannels channels: Int, batch: Int, height: Int, width: Int) {
        self.init(channels: channels, batch: batch, height: height, width: width,
                  values: [Float](unsafeUninitializedCapacity: channels * batch * height * width) { _, count in
                      count = channels * batch * height * width
                  })
    }

    public var pixels: Int { height * width }

    /// From the usual NCHW layout (diffusers' tensors).
    public init(nchw: [Float], batch: Int, channels: Int, height: Int, width: Int) {
        precondition(nchw.count == batch * channels * height * width, "NCHW size mismatch")
        var out = [Float](repeating: 0, count: nchw.count)
        let hw = height * width
        for b in 0..<batch {
            for c in 0..<channels {
                let src = (b * channels + c) * hw, dst = (c * batch + b) * hw
                for i in 0..<hw { out[dst + i] = nchw[src + i] }
            }
        }
        self.init(channels: channels, batch: batch, height: height, width: width, values: out)
    }

    /// To NCHW.
    public func nchw() -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        let hw = pixels
        for b in 0..<batch {
            for c in 0..<channels {
                let src = (c * batch + b) * hw, dst = (b * channels + c) * hw
                for i in 0..<hw { out[dst + i] = values[src + i] }
            }
        }
        return out
    }

    /// Channels of `self` followed by those of `other` (torch.cat along dim 1).
    public func concatenatingChannels(_ other: FeatureMap) -> FeatureMap {
        precondition(batch == other.batch && height == other.height && width == other.width)
        var out = FeatureMap(uninitializedChannels: channels + other.channels, batch: batch, height: height, width: width)
        out.values.withUnsafeMutableBufferPointer { dst in
            values.withUnsafeBufferPointer { _ = UnsafeMutableBufferPointer(rebasing: dst[0..<$0.count]).initialize(from: $0) }
            other.values.withUnsafeBufferPointer { _ = UnsafeMutableBufferPointer(rebasing: dst[values.count...]).initialize(from: $0) }
        }
        return out
    }

    /// Nearest-neighbour ×2 upsampling (F.interpolate(scale_factor=2, mode="nearest")).
    public func upsampledNearest2x() -> FeatureMap {
        var out = FeatureMap(channels: channels, batch: batch, height: height * 2, width: width * 2)
        let w2 = width * 2
        values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                for plane in 0..<(channels * batch) {
                    let s = plane * pixels, d = plane * pixels * 4
                    for y in 0..<(height * 2) {
                        for x in 0..<w2 { dst[d + y * w2 + x] = src[s + (y / 2) * width + x / 2] }
                    }
                }
            }
        }
        return out
    }

    public static func + (lhs: FeatureMap, rhs: FeatureMap) -> FeatureMap {
        precondition(lhs.values.count == rhs.values.count)
        var out = lhs
        for i in out.values.indices { out.values[i] += rhs.values[i] }
        return out
    }
}
