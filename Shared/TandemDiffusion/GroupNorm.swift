import CDiffusionKernels
import Foundation

/// torch.nn.GroupNorm over a channel-major batch, optionally followed by SiLU (fused, since every
/// GroupNorm in a resnet block is followed by one).
///
/// `forward` is the vectorised C kernel (`tandem_group_norm`, polynomial exp for SiLU);
/// `forwardScalar` is its twin, compared by NMSE in `KernelTests`.
public struct GroupNorm: Sendable {
    public let groups: Int
    public let channels: Int
    public let eps: Float
    public let weight: [Float]
    public let bias: [Float]

    public init(groups: Int, channels: Int, eps: Float, weight: [Float], bias: [Float]) {
        precondition(channels % groups == 0 && weight.count == channels && bias.count == channels)
        self.groups = groups; self.channels = channels; self.eps = eps; self.weight = weight; self.bias = bias
    }

    /// `shift` ([channels][batch], optional) is added to the input before normalising: a resnet
    /// block's time-embedding projection, fused here instead of a pass of its own.
    public func forward(_ x: FeatureMap, silu: Bool = false, shift: [Float]? = nil) -> FeatureMap {
        precondition(x.channels == channels && (shift == nil || shift!.count == channels * x.batch))
        var out = FeatureMap(uninitializedChannels: channels, batch: x.batch, height: x.height, width: x.width)
        OpProfile.shared.measure(.groupNorm) {
            x.values.withUnsafeBufferPointer { src in
                out.values.withUnsafeMutableBufferPointer { dst in
                    weight.withUnsafeBufferPointer { w in
                        bias.withUnsafeBufferPointer { b in
                            func run(_ shiftPointer: UnsafePointer<Float>?) {
                                tandem_group_norm(src.baseAddress, shiftPointer, Int32(channels), Int32(x.batch), Int32(x.pixels), Int32(groups),
                                                  eps, w.baseAddress, b.baseAddress, silu ? 1 : 0, dst.baseAddress)
                            }
                            if let shift { shift.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                        }
                    }
                }
            }
        }
        return out
    }

    public func forwardScalar(_ x: FeatureMap, silu: Bool = false) -> FeatureMap {
        precondition(x.channels == channels)
        var out = x
        let perGroup = channels / groups
        let hw = x.pixels
        x.values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                for b in 0..<x.batch {
                    for g in 0..<groups {
                        var sum = 0.0, sumSquares = 0.0
                        for c in (g * perGroup)..<((g + 1) * perGroup) {
                            let base = (c * x.batch + b) * hw
                            var s: Float = 0, ss: Float = 0
                            for i in 0..<hw { let v = src[base + i]; s += v; ss += v * v }
                            sum += Double(s); sumSquares += Double(ss)
                        }
                        let n = Double(perGroup * hw)
                        let mean = sum / n
                        let variance = max(0, sumSquares / n - mean * mean)
                        let inv = Float(1 / (variance + Double(eps)).squareRoot())
                        let m = Float(mean)
                        for c in (g * perGroup)..<((g + 1) * perGroup) {
                            let base = (c * x.batch + b) * hw
                            let scale = weight[c] * inv, shift = bias[c] - m * weight[c] * inv
                            if silu {
                                for i in 0..<hw { let v = src[base + i] * scale + shift; dst[base + i] = v / (1 + expf(-v)) }
                            } else {
                                for i in 0..<hw { dst[base + i] = src[base + i] * scale + shift }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

@inline(__always) func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }
