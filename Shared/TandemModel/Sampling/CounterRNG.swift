/// Counter-based random numbers: the draw for (seed, position) is a pure function of the two.
///
/// A resumed or retried sequence therefore draws exactly the numbers the original run drew at
/// each position, whatever happened in between (ARCHITECTURE.md, "Job state"). The mixing is
/// SplitMix64's finalizer applied twice, which passes BigCrush as a counter-mode generator.
public enum CounterRNG {
    @inline(__always)
    static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0 &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 64 random bits for (seed, position).
    public static func bits(seed: UInt64, position: Int) -> UInt64 {
        mix(seed ^ mix(UInt64(bitPattern: Int64(position))))
    }

    /// A uniform number in [0, 1) for (seed, position), with 53 bits of precision.
    public static func uniform(seed: UInt64, position: Int) -> Double {
        Double(bits(seed: seed, position: position) >> 11) * 0x1.0p-53
    }

    /// A uniform number for (seed, position) from one of several independent streams: speculative
    /// verification needs more than one draw per position (an acceptance coin per draft, a
    /// residual draw), each as reproducible as the plain draw. Stream 0 is `uniform(seed:position:)`.
    public static func uniform(seed: UInt64, position: Int, stream: UInt64) -> Double {
        let keyed = stream == 0 ? seed : seed ^ mix(0xD1B5_4A32_D192_ED03 &* stream)
        return uniform(seed: keyed, position: position)
    }
}
