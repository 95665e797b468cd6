import Foundation

/// Timestamps travel as whole microseconds since the Unix epoch, PostgreSQL's own resolution, so a
/// `Date` written and read back is the same microsecond, with no text formatting on the hot path.
enum PostgresTimestamp {
    static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// SQL turning an `int8` of microseconds into `timestamptz` exactly.
    static func sqlFromMicroseconds(_ expression: String) -> String {
        "(timestamptz 'epoch' + \(expression) * interval '1 microsecond')"
    }

    /// SQL turning a `timestamptz` column into an `int8` of microseconds exactly.
    static func sqlToMicroseconds(_ column: String) -> String {
        "(extract(epoch from \(column)) * 1000000)::int8"
    }
}
