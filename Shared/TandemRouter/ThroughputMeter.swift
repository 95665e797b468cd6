/// Jobs finished per second over a sliding window of one-second buckets.
struct ThroughputMeter {
    private var buckets: [Int] = Array(repeating: 0, count: 10)
    private var currentSecond: Int64 = 0

    mutating func record(atSecond second: Int64) {
        advance(to: second)
        buckets[Int(second % Int64(buckets.count))] += 1
    }

    /// Mean rate over the full seconds of the window (the current, partial second excluded).
    mutating func perSecond(atSecond second: Int64) -> Double {
        advance(to: second)
        let current = Int(second % Int64(buckets.count))
        let total = buckets.enumerated().filter { $0.offset != current }.reduce(0) { $0 + $1.element }
        return Double(total) / Double(buckets.count - 1)
    }

    private mutating func advance(to second: Int64) {
        guard second > currentSecond else { return }
        let steps = min(Int(second - currentSecond), buckets.count)
        for step in 1...steps { buckets[Int((currentSecond + Int64(step)) % Int64(buckets.count))] = 0 }
        currentSecond = second
    }
}
