import Dispatch
import Foundation
import Logging

/// Measures the group-commit writer the way the router loads it, next to the single-row insert
/// rate on the same database in the same run (`tandem db bench`).
///
/// Each job is written as the router writes it: submitted (upsert + event), dispatched (upsert +
/// event), succeeded (upsert + event), each step one token. Steps of one job are `stepLagJobs`
/// jobs apart, as they are when workers take time, so a job's three upserts rarely fall into one
/// batch and collapse into one row; the report counts both writes and rows written.
public enum JobStoreWriterBenchmark {
    public struct Report: Sendable, CustomStringConvertible {
        public var jobs: Int
        public var seconds: Double
        public var statistics: JobStoreWriter.Statistics
        public var acknowledgedTokens: Int
        public var singleRowInsertsPerSecond: Double

        public var writesPerSecond: Double { Double(statistics.committedWrites) / seconds }
        public var rowsPerSecond: Double { Double(statistics.committedRows) / seconds }
        public var jobsPerSecond: Double { Double(jobs) / seconds }
        public var averageBatchWrites: Double { Double(statistics.committedWrites) / Double(max(1, statistics.committedBatches)) }

        public var description: String {
            func rate(_ value: Double) -> String { String(format: "%.0f", value) }
            return """
                jobs: \(jobs) (\(statistics.committedWrites) writes, \(statistics.committedRows) rows, \
                \(acknowledgedTokens) tokens acknowledged) in \(String(format: "%.2f", seconds)) s
                writer: \(rate(writesPerSecond)) writes/s, \(rate(rowsPerSecond)) rows/s, \(rate(jobsPerSecond)) jobs/s, \
                \(statistics.committedBatches) batches (\(String(format: "%.0f", averageBatchWrites)) writes each)
                single-row autocommit INSERT: \(rate(singleRowInsertsPerSecond)) rows/s \
                (writer: \(String(format: "%.0f", rowsPerSecond / max(singleRowInsertsPerSecond, 1)))× that)
                """
        }
    }

    /// Runs in `configuration.schema`, which it migrates first; the caller drops it afterwards.
    public static func run(
        configuration: StoreConfiguration, jobs: Int, singleRowInserts: Int, stepLagJobs: Int = 5000, logger: Logger
    ) throws -> Report {
        let store = try JobStore(configuration: configuration, logger: logger)
        try store.migrate()
        let singleRowRate = try store.measureSingleRowInsertRate(rows: singleRowInserts)

        let acknowledged = AcknowledgementCounter()
        let writer = try JobStoreWriter(configuration: configuration, logger: logger) { tokens in
            acknowledged.add(tokens.count)
        }
        let ids = (0..<jobs).map { _ in UUID() }
        let created = Date()
        let params = #"{"prompt": "Say \"hello\" to the world", "max_tokens": 16}"#
        var token: UInt64 = 0
        func step(_ job: Int, _ state: JobState) {
            var row = JobRow(id: ids[job], kind: "echo", service: "echo", priority: 0, params: params, createdAt: created)
            let eventKind: String
            switch state {
            case .queued: eventKind = "submitted"
            case .running:
                row.state = .running
                row.attempts = 1
                row.worker = "echo-1"
                row.startedAt = created
                eventKind = "dispatched"
            default:
                row.state = .succeeded
                row.attempts = 1
                row.worker = "echo-1"
                row.startedAt = created
                row.finishedAt = Date()
                row.result = #"{"text": "hello"}"#
                eventKind = "succeeded"
            }
            token += 1
            writer.enqueue(
                contentsOf: [.upsert(row), .event(JobEvent(jobId: ids[job], at: Date(), kind: eventKind, worker: row.worker))],
                token: token)
        }

        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<(jobs + 2 * stepLagJobs) {
            if index < jobs { step(index, .queued) }
            if index - stepLagJobs >= 0 && index - stepLagJobs < jobs { step(index - stepLagJobs, .running) }
            if index - 2 * stepLagJobs >= 0 && index - 2 * stepLagJobs < jobs { step(index - 2 * stepLagJobs, .succeeded) }
        }
        writer.shutdown()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Report(
            jobs: jobs, seconds: seconds, statistics: writer.statistics, acknowledgedTokens: acknowledged.count,
            singleRowInsertsPerSecond: singleRowRate)
    }
}

/// Counts acknowledged tokens across threads.
private final class AcknowledgementCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func add(_ amount: Int) { lock.withLock { value += amount } }
    var count: Int { lock.withLock { value } }
}
