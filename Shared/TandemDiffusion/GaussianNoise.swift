import Foundation

/// Counter-based standard normal noise keyed by (seed, stream, position): the same seed gives
/// the same image whichever batch it is rendered in and on whichever worker (ARCHITECTURE.md's
/// rule for sampling). SplitMix64 finalizer over the key, Box–Muller for the normal pair.
public enum GaussianNoise {
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` normal samples for stream `stream` (an image index) of `seed`.
    public static func sample(seed: UInt64, stream: UInt64, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let key = mix(seed ^ mix(stream &+ 0x5EED))
        var i = 0
        while i < count {
            let bits1 = mix(key &+ UInt64(i)), bits2 = mix(key ^ (UInt64(i) &* 0xD6E8_FEB8_6659_FD93))
            let u1 = (Double(bits1 >> 11) + 1) / 9_007_199_254_740_993  // (0, 1]
            let u2 = Double(bits2 >> 11) / 9_007_199_254_740_992
            let r = (-2 * Foundation.log(u1)).squareRoot()
            out[i] = Float(r * Foundation.cos(2 * .pi * u2))
            if i + 1 < count { out[i + 1] = Float(r * Foundation.sin(2 * .pi * u2)) }
            i += 2
        }
        return out
    }
}
