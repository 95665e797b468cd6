import Dispatch
import Foundation
import Logging

/// The group-commit writer: the only path by which job state reaches PostgreSQL.
///
/// An fsync costs ~3.5 ms here, so one commit per write caps the router near 300 writes/s. The
/// writer instead takes everything pending (up to `maxBatchWrites`), folds it into three set-based
/// statements (`JobWriteBatch`) and commits them in one transaction on its own thread and
/// connection. While that commit runs, the next batch piles up: the busier the router, the bigger
/// the batches, and the fsync is paid once per batch.
///
/// Tokens: a caller tags a write, or a group of writes, with a token; `onCommitted` receives the
/// tokens of each committed batch, in commit order, on the writer's thread. A token is reported
/// only after every write of its group and every write enqueued before it is committed, so the
/// router may answer "accepted" exactly when it sees the token.
///
/// Failures: when PostgreSQL is unreachable the writer keeps the batch, backs off, reconnects and
/// retries; nothing is acknowledged that is not committed. When PostgreSQL refuses a batch for its
/// data (SQLSTATE classes 22/23), the writer splits the batch in halves until it has isolated the
/// refused writes, commits the rest, and reports the refused ones through `onRejected`.
///
/// ```swift
/// let writer = try JobStoreWriter(configuration: configuration, logger: logger) { tokens in
///     tokens.forEach(answerClient)
/// }
/// writer.enqueue(contentsOf: [.upsert(row), .event(submitted)], token: 7)
/// writer.shutdown()
/// ```
public final class JobStoreWriter: @unchecked Sendable {
    // Threading: the fields under "guarded by `condition`" are touched only with `condition` locked;
    // `connection` and `rejectedTokens` only by the writer thread (and by `init` before it starts).

    /// A write waiting for its transaction.
    struct PendingWrite {
        /// `nil` for a bare acknowledgement (a token enqueued with no writes).
        var write: JobWrite?
        var token: UInt64?
        /// Whether this is the last write of its token's group, the one whose commit reports the token.
        var acknowledgesToken: Bool
    }

    /// Counts since the writer started, for benchmarks and metrics.
    public struct Statistics: Sendable, Equatable {
        public var committedWrites = 0
        /// Rows actually written: upserts of one job in one batch collapse into one row.
        public var committedRows = 0
        public var committedBatches = 0
        public var rejectedWrites = 0
        public var failedAttempts = 0
        /// Writes given up at shutdown because the database stayed unreachable (never acknowledged).
        public var abandonedWrites = 0
    }

    private let configuration: StoreConfiguration
    private let logger: Logger
    private let onCommitted: @Sendable ([UInt64]) -> Void
    private let onRejected: @Sendable ([JobWriteRejection]) -> Void
    private let connection: PostgresConnection
    private var rejectedTokens: Set<UInt64> = []

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pending: [PendingWrite] = []
    private var oldestPendingNanoseconds: UInt64 = 0
    private var isShuttingDown = false
    private var shutdownNanoseconds: UInt64 = 0
    private var isFinished = false
    private var currentStatistics = Statistics()

    /// Connects (throwing if PostgreSQL is unreachable now) and starts the writer thread.
    public convenience init(
        configuration: StoreConfiguration, logger: Logger, onCommitted: @escaping @Sendable ([UInt64]) -> Void
    ) throws {
        try self.init(configuration: configuration, logger: logger, onCommitted: onCommitted) { rejections in
            _ = rejections  // already logged by the writer
        }
    }

    /// Like `init(configuration:logger:onCommitted:)`, and also told about writes PostgreSQL refused.
    public init(
        configuration: StoreConfiguration, logger: Logger, onCommitted: @escaping @Sendable ([UInt64]) -> Void,
        onRejected: @escaping @Sendable ([JobWriteRejection]) -> Void
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.onCommitted = onCommitted
        self.onRejected = onRejected
        connection = try PostgresConnection(configuration: configuration, role: "writer")
        let thread = Thread { [self] in run() }
        thread.name = "tandem-store-writer"
        thread.start()
    }

    /// Queues one write; never blocks on I/O. `token`, if given, is acknowledged after it commits.
    public func enqueue(_ write: JobWrite, token: UInt64? = nil) {
        enqueue(contentsOf: [write], token: token)
    }

    /// Queues writes that are acknowledged together: `token` is reported once all of them commit.
    public func enqueue(contentsOf writes: [JobWrite], token: UInt64?) {
        var entries = writes.map { PendingWrite(write: $0, token: token, acknowledgesToken: false) }
        if token != nil {
            if entries.isEmpty { entries.append(PendingWrite(write: nil, token: token, acknowledgesToken: true)) }
            entries[entries.count - 1].acknowledgesToken = true
        }
        guard !entries.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        guard !isShuttingDown else {
            logger.error("write enqueued after shutdown, dropped", metadata: ["writes": "\(writes.count)"])
            return
        }
        let wasEmpty = pending.isEmpty
        if wasEmpty { oldestPendingNanoseconds = Self.now() }
        pending.append(contentsOf: entries)
        if wasEmpty || pending.count >= configuration.maxBatchWrites { condition.signal() }
    }

    /// Writes waiting for a transaction: a router may answer "busy" when this grows large.
    public var pendingWrites: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return currentStatistics
    }

    /// Commits everything enqueued so far, then stops the thread and closes the connection.
    /// Returns when the writer has finished. Calling it again does nothing.
    public func shutdown() {
        condition.lock()
        if !isShuttingDown {
            isShuttingDown = true
            shutdownNanoseconds = Self.now()
            condition.broadcast()
        }
        while !isFinished { condition.wait() }
        condition.unlock()
    }

    // MARK: - The writer thread

    private func run() {
        while let batch = nextBatch() {
            commit(batch)
        }
        connection.close()
        condition.lock()
        isFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until a batch is due, then takes it: `maxBatchWrites` are pending, the oldest pending
    /// write has waited `maxDelayMilliseconds`, or shutdown began. `nil` once shut down and drained.
    private func nextBatch() -> [PendingWrite]? {
        condition.lock()
        defer { condition.unlock() }
        let maxDelayNanoseconds = UInt64(configuration.maxDelayMilliseconds) * 1_000_000
        while true {
            if pending.isEmpty {
                if isShuttingDown { return nil }
                condition.wait()
                continue
            }
            if pending.count >= configuration.maxBatchWrites || isShuttingDown { break }
            let due = oldestPendingNanoseconds + maxDelayNanoseconds
            let now = Self.now()
            if now >= due { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now) / 1e9))
        }
        let count = min(pending.count, configuration.maxBatchWrites)
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        // What stays behind has waited already: it is due as soon as the writer is free again.
        oldestPendingNanoseconds = 0
        return batch
    }

    /// Commits `batch`, isolating refused writes, then reports tokens in order.
    private func commit(_ batch: [PendingWrite]) {
        var rejections: [Int: String] = [:]
        var validIndices: [Int] = []
        for (index, entry) in batch.enumerated() {
            if let problem = entry.write?.problem { rejections[index] = problem } else { validIndices.append(index) }
        }
        // Ranges of `validIndices` still to commit, in order (last element next).
        var work: [Range<Int>] = validIndices.isEmpty ? [] : [0..<validIndices.count]
        var committedWrites = 0
        var committedRows = 0
        var committedBatches = 0
        var abandoned = false
        while let range = work.popLast() {
            let writes = range.compactMap { batch[validIndices[$0]].write }
            let writeBatch = JobWriteBatch(writes)
            switch commitWithRetry(writeBatch) {
            case .committed:
                committedWrites += writes.count
                committedRows += writeBatch.rowCount
                committedBatches += 1
            case .refused(let reason) where range.count == 1:
                rejections[validIndices[range.lowerBound]] = reason
            case .refused:
                let middle = range.lowerBound + range.count / 2
                work.append(middle..<range.upperBound)
                work.append(range.lowerBound..<middle)
            case .abandoned:
                abandoned = true
                work.removeAll()
                for index in validIndices[range.lowerBound...] { rejections[index] = "abandoned at shutdown" }
            }
        }
        report(batch, rejections: rejections, abandoned: abandoned)
        condition.lock()
        currentStatistics.committedWrites += committedWrites
        currentStatistics.committedRows += committedRows
        currentStatistics.committedBatches += committedBatches
        currentStatistics.rejectedWrites += abandoned ? 0 : rejections.count
        currentStatistics.abandonedWrites += abandoned ? rejections.count : 0
        condition.unlock()
    }

    private func report(_ batch: [PendingWrite], rejections: [Int: String], abandoned: Bool) {
        var committedTokens: [UInt64] = []
        var refused: [JobWriteRejection] = []
        for (index, entry) in batch.enumerated() {
            if let reason = rejections[index] {
                if let token = entry.token { rejectedTokens.insert(token) }
                if let write = entry.write { refused.append(JobWriteRejection(write: write, token: entry.token, reason: reason)) }
            }
            guard entry.acknowledgesToken, let token = entry.token else { continue }
            if rejectedTokens.remove(token) == nil { committedTokens.append(token) }
        }
        if !refused.isEmpty {
            if abandoned {
                logger.error("database unreachable at shutdown: unacknowledged writes abandoned", metadata: ["writes": "\(refused.count)"])
            } else {
                for rejection in refused.prefix(10) {
                    logger.error("write refused by PostgreSQL", metadata: ["reason": "\(rejection.reason)"])
                }
            }
            onRejected(refused)
        }
        if !committedTokens.isEmpty { onCommitted(committedTokens) }
    }

    private enum Outcome {
        case committed
        /// PostgreSQL refused the data; the same statements would fail again.
        case refused(String)
        /// Shutdown's grace period ran out while the database was unreachable.
        case abandoned
    }

    /// Runs the batch's transaction until it commits or is refused for its data, backing off and
    /// reconnecting in between.
    private func commitWithRetry(_ batch: JobWriteBatch) -> Outcome {
        let statements = batch.statements()
        var delayMilliseconds = configuration.retryDelayMilliseconds
        while true {
            do {
                if !connection.isConnected { try connection.reconnect() }
                try connection.transaction {
                    for statement in statements { try connection.execute(statement.sql, bytes: statement.parameters) }
                }
                return .committed
            } catch let error as PostgresError where error.isDataRejection {
                return .refused(error.description)
            } catch {
                condition.lock()
                currentStatistics.failedAttempts += 1
                let giveUp = isShuttingDown
                    && Self.now() - shutdownNanoseconds > UInt64(configuration.shutdownGraceMilliseconds) * 1_000_000
                condition.unlock()
                if giveUp { return .abandoned }
                logger.warning("commit failed, retrying", metadata: [
                    "error": "\(error)", "retryInMilliseconds": "\(delayMilliseconds)",
                ])
                Thread.sleep(forTimeInterval: Double(delayMilliseconds) / 1000)
                delayMilliseconds = min(delayMilliseconds * 2, configuration.maxRetryDelayMilliseconds)
                // A statement error on a live connection (say, a missing table) keeps the connection;
                // anything else gets a fresh one.
                if !((error as? PostgresError)?.sqlState.map { !$0.hasPrefix("08") } ?? false) {
                    try? connection.reconnect()
                }
            }
        }
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
