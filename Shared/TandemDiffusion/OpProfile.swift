import Dispatch
import Foundation
import Synchronization

/// Where the UNet's time goes, per kind of operation: `tandem bench render --ops` turns it on for
/// one run and prints the table. Off (the default) every op pays one relaxed atomic load.
///
/// Times are thread-seconds: with several threads the chunks run side by side and their ops add up.
public final class OpProfile: Sendable {
    public enum Op: String, CaseIterable, Sendable {
        case winograd = "conv 3×3, Winograd"
        case tiled3x3 = "conv 3×3, tiled (4×4 maps, conv_in/out)"
        case strided = "conv 3×3 stride 2 (downsamplers)"
        case pointwise = "conv 1×1 (shortcuts, attention projections)"
        case groupNorm = "GroupNorm (+ SiLU)"
        case attention = "attention core (scores, softmax, weighted sum)"
        case embedding = "time and class embedding"
        case layout = "layout (NCHW ↔ CBHW, skip concatenation)"
        /// Whole UNet calls (wall time, not part of the per-op sum).
        case unetCall = "UNet calls (wall)"
    }

    public struct Entry: Sendable {
        public let op: Op
        public let seconds: Double
        public let calls: Int
        /// Multiply-adds the op's arithmetic needs (direct-convolution count for Winograd), 0 where not counted.
        public let multiplyAdds: Int
    }

    public static let shared = OpProfile()

    private let enabled = Atomic<Bool>(false)
    private let totals = Mutex<[Op: (seconds: Double, calls: Int, multiplyAdds: Int)]>([:])

    /// Clears the totals and starts recording.
    public func start() {
        totals.withLock { $0 = [:] }
        enabled.store(true, ordering: .relaxed)
    }

    /// Stops recording and returns the totals, largest first.
    public func stop() -> [Entry] {
        enabled.store(false, ordering: .relaxed)
        return totals.withLock { totals in
            totals.map { Entry(op: $0.key, seconds: $0.value.seconds, calls: $0.value.calls, multiplyAdds: $0.value.multiplyAdds) }
        }.sorted { $0.seconds > $1.seconds }
    }

    /// The breakdown as a markdown table: each op's thread-seconds, its share of the ops' sum, and
    /// GFLOP/s where its arithmetic is counted; then the UNet's wall time against the whole run's,
    /// the rest being the solvers, guidance and batching around the UNet.
    public static func table(_ entries: [Entry], runSeconds: Double) -> [String] {
        let ops = entries.filter { $0.op != .unetCall }
        let sum = ops.reduce(0) { $0 + $1.seconds }
        var lines = ["| op | calls | thread-s | share | GFLOP/s |", "|---|---:|---:|---:|---:|"]
        for entry in ops {
            let rate = entry.multiplyAdds > 0 ? String(format: "%.1f", 2 * Double(entry.multiplyAdds) / entry.seconds / 1e9) : "—"
            lines.append(String(format: "| %@ | %d | %.3f | %.1f %% | %@ |", entry.op.rawValue, entry.calls, entry.seconds,
                                100 * entry.seconds / sum, rate))
        }
        lines.append(String(format: "| sum of ops | | %.3f | 100 %% | |", sum))
        let unet = entries.first { $0.op == .unetCall }?.seconds ?? 0
        lines.append(String(format: "UNet calls %.3f s of a %.3f s run (wall); outside the UNet (solver steps, guidance, batching): %.3f s = %.1f %%",
                            unet, runSeconds, runSeconds - unet, 100 * (runSeconds - unet) / runSeconds))
        return lines
    }

    @inline(__always)
    func measure<T>(_ op: Op, multiplyAdds: Int = 0, _ body: () throws -> T) rethrows -> T {
        guard enabled.load(ordering: .relaxed) else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        totals.withLock { totals in
            let old = totals[op] ?? (0, 0, 0)
            totals[op] = (old.seconds + seconds, old.calls + 1, old.multiplyAdds + multiplyAdds)
        }
        return result
    }
}
