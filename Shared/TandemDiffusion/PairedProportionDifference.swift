import Foundation

/// The difference of two success rates measured on the same items (the same seeds and classes),
/// with a 95 % interval that uses the pairing: only items where the two disagree carry
/// information, so a paired comparison resolves far smaller differences than two separate
/// intervals would.
public struct PairedProportionDifference: Sendable, Equatable {
    /// Items right under A and wrong under B, and the reverse.
    public let onlyA: Int
    public let onlyB: Int
    public let items: Int

    public init(_ a: [Bool], _ b: [Bool]) {
        precondition(a.count == b.count && !a.isEmpty)
        onlyA = zip(a, b).filter { $0 && !$1 }.count
        onlyB = zip(a, b).filter { !$0 && $1 }.count
        items = a.count
    }

    /// rate(A) − rate(B).
    public var difference: Double { Double(onlyA - onlyB) / Double(items) }

    /// Normal interval on the paired differences (z = 1.96); its variance is
    /// (b + c − (b − c)²/n) / n² for b, c the discordant counts.
    public var interval95: ClosedRange<Double> {
        let n = Double(items), b = Double(onlyA), c = Double(onlyB)
        let half = 1.959964 * max(0, b + c - (b - c) * (b - c) / n).squareRoot() / n
        return (difference - half)...(difference + half)
    }
}
