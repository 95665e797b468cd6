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
            // im2col: row (c, ky, kx) holds, for every output pixel of every sample, the input
            // pixel under that kernel tap. Per output row, the valid x range is computed once and
            // copied as a run (stride 1) or gathered (stride 2); the padding is left at zero. It is
            // written straight into MatrixMultiply's tile-packed layout, saving a copy of B.
            let tileWidth = MatrixMultiply.columnTile
            let (h, w, batch, pad, stride, kernelSize) = (x.height, x.width, x.batch, padding, self.stride, self.kernelSize)
            x.values.withUnsafeBufferPointer { srcBuffer in
                col.withUnsafeMutableBufferPointer { dstBuffer in
                    let src = srcBuffer.baseAddress!, dst = dstBuffer.baseAddress!
                    for c in 0..<inChannels {
                        for ky in 0..<kernelSize {
                            for kx in 0..<kernelSize {
                                let row = (c * kernelSize + ky) * kernelSize + kx
                                // Output columns ox with 0 <= ox*stride + kx - pad < w.
                                let lo = max(0, (pad - kx + stride - 1) / stride)
                                let hi = min(wo, (w - 1 + pad - kx) / stride + 1)
                                for b in 0..<batch {
                                    let plane = src + (c * batch + b) * h * w
                                    for oy in 0..<ho {
                                        let iy = oy * stride + ky - pad
                                        guard iy >= 0 && iy < h && lo < hi else { continue }
                                        var from = plane + iy * w + lo * stride + kx - pad
                                        var j = b * ho * wo + oy * wo + lo, remaining = hi - lo
                                        while remaining > 0 {
                                            // A run stops at the end of its column tile.
                                            let run = min(remaining, tileWidth - j % tileWidth)
                                            let to = dst + MatrixMultiply.packedIndex(row: row, column: j, k: depth, n: columns)
                                            // Runs are short (a row of the output): a plain loop beats a memmove call.
                                            for i in 0..<run { to[i] = from[i * stride] }
                                            from += run * stride; j += run; remaining -= run
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
                        MatrixMultiply.fast(w.baseAddress!, cb.baseAddress!, dst.baseAddress!, m: outChannels, k: depth, n: columns, accumulate: true, threads: threads, bPacked: true)
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
