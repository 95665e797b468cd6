import Foundation
import TandemStore

/// Rows in each state that satisfy the table's CHECK constraints.
enum JobFixtures {
    /// A whole-microsecond time, so it round-trips through `timestamptz` exactly.
    static func time(_ secondsAfterBase: Double) -> Date {
        Date(timeIntervalSince1970: 1_795_000_000 + (secondsAfterBase * 1_000).rounded() / 1_000)
    }

    static func queued(_ id: UUID = UUID(), priority: Int32 = 0, created: Date = time(0), params: String = #"{"n": 1}"#) -> JobRow {
        JobRow(id: id, kind: "echo", service: "echo", priority: priority, params: params, createdAt: created)
    }

    static func running(_ row: JobRow, worker: String = "echo-1", attempts: Int32 = 1) -> JobRow {
        var row = row
        row.state = .running
        row.worker = worker
        row.attempts = attempts
        row.startedAt = time(1)
        return row
    }

    static func succeeded(_ row: JobRow, result: String = #"{"text": "done"}"#) -> JobRow {
        var row = running(row)
        row.state = .succeeded
        row.finishedAt = time(2)
        row.result = result
        return row
    }
}
