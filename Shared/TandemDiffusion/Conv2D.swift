/// A 2-D convolution with diffusers' weight layout [out][in][kh][kw], square kernel, zero padding.
///
/// `forward` is im2col + `MatrixMultiply.fast`; `forwardDirect` is the scalar twin (seven nested
/// loops, no im2col) that the kernel tests compare against.
public struct Conv2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let weight: [Float]
    public let bias: [Float]

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * inChannels * kernelSize * kernelSize && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernelSize = kernelSize
        self.stride = stride; self.padding = padding; self.weight = weight; self.bias = bias
    }

    func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernelSize) / stride + 1 }

    public func forward(_ x: FeatureMap, threads: Int = 1) -> FeatureMap {
        precondition(x.channels == inChannels)
        let ho = outputSize(x.height), wo = outputSize(x.width)
        let columns = x.batch * ho * wo
        let depth = inChannels * kernelSize * kernelSize
        var out = FeatureMap(channels: outChannels, batch: x.batch, height: ho, width: wo)
        let pointwise = kernelSize == 1 && stride == 1 && padding == 0
        var col = pointwise ? [] : [Float](repeating: 0, count: depth * columns)
        if !pointwise {
            x.values.withUnsafeBufferPointer { src in
                col.withUnsafeMutableBufferPointer { dst in
                    for c in 0..<inChannels {
                        for ky in 0..<kernelSize {
                            for kx in 0..<kernelSize {
                                let row = (c * kernelSize + ky) * kernelSize + kx
                                var o = row * columns
                                for b in 0..<x.batch {
                                    let plane = (c * x.batch + b) * x.pixels
                                    for oy in 0..<ho {
                                        let iy = oy * stride + ky - padding
                                        if iy < 0 || iy >= x.height {
                                            o += wo
                                            continue
                                        }
                                        let rowBase = plane + iy * x.width
                                        for ox in 0..<wo {
                                            let ix = ox * stride + kx - padding
                                            dst[o] = (ix >= 0 && ix < x.width) ? src[rowBase + ix] : 0
                                            o += 1
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out.values.withUnsafeMutableBufferPointer { dst in
            for co in 0..<outChannels {
                let base = co * columns
                for i in 0..<columns { dst[base + i] = bias[co] }
            }
            weight.withUnsafeBufferPointer { w in
                if pointwise {
                    x.values.withUnsafeBufferPointer { src in
                        MatrixMultiply.fast(w.baseAddress!, src.baseAddress!, dst.baseAddress!, m: outChannels, k: depth, n: columns, accumulate: true, threads: threads)
                    }
                } else {
                    col.withUnsafeBufferPointer { cb in
                        MatrixMultiply.fast(w.baseAddress!, cb.baseAddress!, dst.baseAddress!, m: outChannels, k: depth, n: columns, accumulate: true, threads: threads)
                    }
                }
            }
        }
        return out
    }

    /// The scalar twin: a direct convolution.
    public func forwardDirect(_ x: FeatureMap) -> FeatureMap {
        let ho = outputSize(x.height), wo = outputSize(x.width)
        var out = FeatureMap(channels: outChannels, batch: x.batch, height: ho, width: wo)
        for co in 0..<outChannels {
            for b in 0..<x.batch {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var sum = bias[co]
                        for ci in 0..<inChannels {
                            for ky in 0..<kernelSize {
                                let iy = oy * stride + ky - padding
                                if iy < 0 || iy >= x.height { continue }
                                for kx in 0..<kernelSize {
                                    let ix = ox * stride + kx - padding
                                    if ix < 0 || ix >= x.width { continue }
                                    sum += weight[((co * inChannels + ci) * kernelSize + ky) * kernelSize + kx]
                                        * x.values[((ci * x.batch + b) * x.height + iy) * x.width + ix]
                                }
                            }
                        }
                        out.values[((co * x.batch + b) * ho + oy) * wo + ox] = sum
                    }
                }
            }
        }
        return out
    }
}
