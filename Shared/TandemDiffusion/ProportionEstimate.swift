import Foundation

/// A measured proportion (successes of trials) with its 95 % Wilson score interval.
///
/// Wilson rather than the normal approximation: near 90 % with a few hundred trials the normal
/// interval is lopsided and can pass 100 %.
public struct ProportionEstimate: Sendable, Equatable {
    public let successes: Int
    public let trials: Int

    public init(successes: Int, trials: Int) {
        precondition(trials > 0 && (0...trials).contains(successes))
        self.successes = successes; self.trials = trials
    }

    public var value: Double { Double(successes) / Double(trials) }

    /// z = 1.96.
    public var interval95: ClosedRange<Double> {
        let z = 1.959964, n = Double(trials), p = value
        let centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        let half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        return max(0, centre - half)...min(1, centre + half)
    }
}
