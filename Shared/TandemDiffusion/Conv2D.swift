import CDiffusionKernels
import Dispatch

/// A 2-D convolution with diffusers' weight layout [out][in][kh][kw], square kernel, zero padding.
///
/// `forward` runs `tandem_conv2d_tiles` (CDiffusionKernels): im2col packed per 64-column tile in
/// cache-sized chunks, never materialised, weights packed once here; bias, a residual addend and
/// an output scale are applied as each tile is written. On AVX-512 the 3×3 stride-1 convolutions of
/// 8×8 maps and up run Winograd F(2×2, 3×3) instead (`tandem_conv2d_winograd`: 16 multiplies per
/// 2×2 outputs and channel pair, not 36), on weights transformed here. `forwardDirect` is the
/// scalar twin (seven nested loops) that the kernel tests compare both against.
public struct Conv2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let weight: [Float]
    public let bias: [Float]
    /// `weight` in the kernel's layout: blocks of 4 output channels, each [depth][4].
    let packedWeight: [Float]
    /// `weight` transformed for Winograd F(2×2, 3×3) (U = G g Gᵀ), for 3×3 stride-1 padding-1 kernels.
    let winogradWeight: [Float]?

    /// The instruction set this CPU runs: 2 AVX-512F, 1 AVX2 + FMA, 0 portable C (checked once).
    public static let bestLevel = Int(tandem_conv_best_level())

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * inChannels * kernelSize * kernelSize && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernelSize = kernelSize
        self.stride = stride; self.padding = padding; self.weight = weight; self.bias = bias
        let depth = inChannels * kernelSize * kernelSize
        packedWeight = [Float](unsafeUninitializedCapacity: tandem_conv_packed_weight_count(Int32(outChannels), Int32(depth))) { buffer, count in
            tandem_conv_pack_weights(weight, Int32(outChannels), Int32(depth), buffer.baseAddress!)
            count = buffer.count
        }
        if kernelSize == 3 && stride == 1 && padding == 1 {
            winogradWeight = [Float](unsafeUninitializedCapacity: tandem_winograd_packed_weight_count(Int32(outChannels), Int32(inChannels))) { buffer, count in
                tandem_winograd_pack_weights(weight, Int32(outChannels), Int32(inChannels), buffer.baseAddress!)
                count = buffer.count
            }
        } else {
            winogradWeight = nil
        }
    }

    func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernelSize) / stride + 1 }

    /// Multiply-adds per sample for an input of `size` × `size` (after any upsampling).
    public func multiplyAdds(inputSize size: Int) -> Int {
        outChannels * inChannels * kernelSize * kernelSize * outputSize(size) * outputSize(size)
    }

    /// `(conv(upsample(x)) + addend) · outputScale`. `upsample` 2 convolves the nearest-upsampled
    /// input without building it; `addend` (a residual, same shape as the output) is added as the
    /// output is written. `level` picks the instruction set (tests run every level the CPU has);
    /// `winograd` false keeps an applicable shape on the tiled kernel (the tests run both).
    public func forward(_ x: FeatureMap, threads: Int = 1, upsample: Int = 1, addend: FeatureMap? = nil, outputScale: Float = 1,
                        level: Int = Conv2D.bestLevel, winograd: Bool = true) -> FeatureMap {
        precondition(x.channels == inChannels && (upsample == 1 || upsample == 2))
        var shape = shape(of: x, upsample: upsample)
        var out = FeatureMap(uninitializedChannels: outChannels, batch: x.batch, height: Int(shape.outHeight), width: Int(shape.outWidth))
        if let addend { precondition(addend.values.count == out.values.count, "addend shape") }
        let transformed = winograd && runsWinograd(x, upsample: upsample, level: level)
        // Units the threads split: 64-column tiles of outputs, or blocks of 64 Winograd tiles.
        let tileColumns = Int(tandem_conv_tile_columns())
        let units = transformed ? Int(tandem_winograd_blocks(&shape)) : (out.values.count / outChannels + tileColumns - 1) / tileColumns
        let parts = min(max(1, threads), units)
        let level = Int32(level)
        let op: OpProfile.Op = transformed ? .winograd : kernelSize == 1 ? .pointwise : stride > 1 ? .strided : .tiled3x3
        OpProfile.shared.measure(op, multiplyAdds: multiplyAdds(inputSize: x.height * upsample) * x.batch) {
            x.values.withUnsafeBufferPointer { src in
                (transformed ? winogradWeight! : packedWeight).withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        out.values.withUnsafeMutableBufferPointer { dst in
                            func run(_ addendPointer: UnsafePointer<Float>?) {
                                // Each part writes its own tiles (columns) of the output.
                                let operands = ConvOperands(shape: shape, x: src.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!,
                                                            addend: addendPointer, out: dst.baseAddress!)
                                @Sendable func part(_ index: Int) {
                                    var shape = operands.shape
                                    let first = Int32(units * index / parts), end = Int32(units * (index + 1) / parts)
                                    if transformed {
                                        tandem_conv2d_winograd(&shape, operands.x, operands.weight, operands.bias, operands.addend, outputScale,
                                                               operands.out, first, end)
                                    } else {
                                        tandem_conv2d_tiles(&shape, operands.x, operands.weight, operands.bias, operands.addend, outputScale,
                                                            operands.out, first, end, level)
                                    }
                                }
                                if parts == 1 { part(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: part) }
                            }
                            if let addend {
                                addend.values.withUnsafeBufferPointer { run($0.baseAddress) }
                            } else {
                                run(nil)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Whether `forward` takes this input to the Winograd kernel at `level`.
    public func runsWinograd(_ x: FeatureMap, upsample: Int = 1, level: Int = Conv2D.bestLevel) -> Bool {
        var shape = shape(of: x, upsample: upsample)
        return level >= 2 && winogradWeight != nil && tandem_winograd_applies(&shape) != 0
    }

    private func shape(of x: FeatureMap, upsample: Int) -> tandem_conv_shape {
        tandem_conv_shape(inChannels: Int32(inChannels), outChannels: Int32(outChannels), batch: Int32(x.batch),
                          inHeight: Int32(x.height), inWidth: Int32(x.width), upsample: Int32(upsample),
                          kernelSize: Int32(kernelSize), stride: Int32(stride), padding: Int32(padding),
                          outHeight: Int32(outputSize(x.height * upsample)), outWidth: Int32(outputSize(x.width * upsample)))
    }

    private struct ConvOperands: @unchecked Sendable {
        let shape: tandem_conv_shape
        let x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>
        let addend: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>
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
