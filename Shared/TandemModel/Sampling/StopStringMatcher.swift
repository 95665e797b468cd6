/// Finds stop strings in streamed text, holding back only what could still begin one.
public struct StopStringMatcher: Sendable {
    public let stops: [String]
    private var pending = ""

    public init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Feeds new text; returns the text safe to emit and whether a stop string was hit (the
    /// stop string itself and everything after it are dropped).
    public mutating func feed(_ text: String) -> (emit: String, stopped: Bool) {
        pending += text
        for stop in stops {
            if let r = pending.range(of: stop) {
                let out = String(pending[..<r.lowerBound])
                pending = ""
                return (out, true)
            }
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        var hold = 0
        for stop in stops {
            for n in stride(from: min(stop.count - 1, pending.count), to: 0, by: -1) where pending.hasSuffix(String(stop.prefix(n))) {
                hold = max(hold, n)
                break
            }
        }
        let cut = pending.index(pending.endIndex, offsetBy: -hold)
        let out = String(pending[..<cut])
        pending = String(pending[cut...])
        return (out, false)
    }

    /// Whatever is held back, at the end of generation.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}
