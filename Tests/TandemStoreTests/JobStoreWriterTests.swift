import Foundation
import TandemStore
import TestSupport
import XCTest

final class JobStoreWriterTests: XCTestCase {
    func testManyWritesCommitAndLastRowPerJobWins() throws {
        try TestDatabase.with(maxBatchWrites: 500) { database in
            let store = try database.migratedStore()
            let log = CommitLog()
            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { log.append($0) }
            let jobs = (0..<400).map { JobFixtures.queued(UUID(), priority: Int32($0 % 7)) }
            var token: UInt64 = 0
            for job in jobs {
                token += 1
                writer.enqueue(contentsOf: [.upsert(job), .event(JobEvent(jobId: job.id, at: JobFixtures.time(0), kind: "submitted"))], token: token)
            }
            for job in jobs {
                token += 1
                writer.enqueue(.upsert(JobFixtures.running(job)), token: token)
                writer.enqueue(.output(JobOutput(jobId: job.id, seq: 0, data: #"{"token": "a"}"#)))
                writer.enqueue(.output(JobOutput(jobId: job.id, seq: 1, bytes: [1, 2, 3])))
                writer.enqueue(.upsert(JobFixtures.succeeded(job)))
                writer.enqueue(.event(JobEvent(jobId: job.id, at: JobFixtures.time(2), kind: "succeeded", worker: "echo-1")))
            }
            writer.shutdown()

            XCTAssertEqual(log.tokens, Array(1...token), "every token, once, in order")
            XCTAssertEqual(writer.statistics.committedWrites, jobs.count * 7)
            XCTAssertGreaterThan(writer.statistics.committedBatches, 1)
            XCTAssertEqual(try store.countsByState()[.succeeded], jobs.count)
            let sample = jobs[17]
            XCTAssertEqual(try store.job(id: sample.id), JobFixtures.succeeded(sample))
            XCTAssertEqual(try store.events(jobId: sample.id).map(\.kind), ["submitted", "succeeded"])
            XCTAssertEqual(try store.outputs(jobId: sample.id), [
                JobOutput(jobId: sample.id, seq: 0, data: #"{"token": "a"}"#),
                JobOutput(jobId: sample.id, seq: 1, bytes: [1, 2, 3]),
            ])
        }
    }

    func testBatchesAreCappedByBytes() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            var configuration = database.configuration
            configuration.maxBatchBytes = 4096
            configuration.maxDelayMilliseconds = 50  // let everything pile up first
            let log = CommitLog()
            let writer = try JobStoreWriter(configuration: configuration, logger: database.logger) { log.append($0) }
            let bulky = "{\"text\": \"\(String(repeating: "x", count: 1000))\"}"
            for token in 1...20 { writer.enqueue(.upsert(JobFixtures.queued(params: bulky)), token: UInt64(token)) }
            writer.shutdown()
            XCTAssertEqual(log.tokens, Array(1...20))
            XCTAssertGreaterThanOrEqual(writer.statistics.committedBatches, 5, "about 3 writes of ~1.2 kB per 4 kB batch")
            XCTAssertEqual(try store.countsByState()[.queued], 20)
        }
    }

    func testTokensAreAcknowledgedOnlyAfterCommit() throws {
        try TestDatabase.with { database in
            _ = try database.migratedStore()
            let observer = try PostgresConnection(configuration: database.configuration, role: "observer")
            let jobsByToken = (1...50).map { (UInt64($0), JobFixtures.queued()) }
            let missing = CommitLog()
            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { tokens in
                // Runs on the writer thread; the observer connection is used only here.
                for token in tokens {
                    let id = jobsByToken[Int(token) - 1].1.id
                    let found = (try? observer.execute("SELECT 1 FROM jobs WHERE id = $1", [id.uuidString]).rowCount) ?? 0
                    if found != 1 { missing.append([token]) }
                }
            }
            for (token, job) in jobsByToken { writer.enqueue(.upsert(job), token: token) }
            writer.shutdown()
            XCTAssertEqual(missing.tokens, [], "tokens acknowledged before their row was visible to another connection")
        }
    }

    func testStringsAndBytesRoundTrip() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            let awkward = #"quote " backslash \ braces {a,b} NULL "NULL" , tab"# + "\t newline\n ü 日本 🚀 \u{7f}"
            var job = JobFixtures.queued(params: #"{"prompt": "say \"hi\" \\ {x} 🚀", "list": [1, null, "NULL"]}"#)
            job.kind = awkward
            job.service = "NULL"
            job = JobFixtures.running(job, worker: "")
            job.state = .failed
            job.finishedAt = JobFixtures.time(3)
            job.errorCode = #"\x00"#
            job.error = awkward
            job.result = #""a \"string\" result""#
            job.resultBytes = (0...255).map { UInt8($0) }
            let event = JobEvent(jobId: job.id, at: JobFixtures.time(4), kind: awkward, worker: "\\", detail: #"{"why": "\"\\"}"#)
            let output = JobOutput(jobId: job.id, seq: 0, data: #"["{", "}", "\\"]"#, bytes: [])

            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { _ in }
            writer.enqueue(contentsOf: [.upsert(job), .event(event), .output(output)], token: 1)
            writer.shutdown()

            let stored = try XCTUnwrap(try store.job(id: job.id))
            XCTAssertEqual(stored.kind, awkward)
            XCTAssertEqual(stored.error, awkward)
            XCTAssertEqual(stored.service, "NULL")
            XCTAssertEqual(stored.worker, "")
            XCTAssertEqual(stored.errorCode, #"\x00"#)
            XCTAssertEqual(stored.resultBytes, job.resultBytes)
            XCTAssertEqual(try json(stored.params), try json(job.params))
            XCTAssertEqual(try json(stored.result!), try json(job.result!))
            XCTAssertEqual(try store.events(jobId: job.id).first?.kind, awkward)
            XCTAssertEqual(try store.events(jobId: job.id).first?.worker, "\\")
            XCTAssertEqual(try json(store.events(jobId: job.id).first!.detail!), try json(event.detail!))
            XCTAssertEqual(try store.outputs(jobId: job.id).first?.bytes, [])
            XCTAssertEqual(try json(store.outputs(jobId: job.id).first!.data!), try json(output.data!))
        }
    }

    func testRefusedWritesAreIsolatedAndTheirTokensNeverAcknowledged() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            let log = CommitLog()
            let refused = RejectionLog()
            let writer = try JobStoreWriter(
                configuration: database.configuration, logger: database.logger, onCommitted: { log.append($0) },
                onRejected: { refused.append($0) })
            var finishedWithoutTime = JobFixtures.succeeded(JobFixtures.queued())
            finishedWithoutTime.finishedAt = nil
            let nulInJSON = JobFixtures.queued(params: "{\"a\": \"\u{0}\"}")
            var nulInText = JobFixtures.queued()
            nulInText.kind = "a\u{0}b"
            let good = (0..<20).map { _ in JobFixtures.queued() }
            for (index, job) in good.enumerated() { writer.enqueue(.upsert(job), token: UInt64(index)) }
            writer.enqueue(.upsert(finishedWithoutTime), token: 100)
            writer.enqueue(.upsert(nulInJSON), token: 101)
            writer.enqueue(contentsOf: [.upsert(nulInText)], token: 102)
            writer.enqueue(.event(JobEvent(jobId: good[0].id, at: Date(), kind: "bad", detail: "{not json")), token: 103)
            writer.shutdown()

            XCTAssertEqual(log.tokens, Array(0..<20) + [102])
            XCTAssertEqual(Set(refused.rejections.compactMap(\.token)), [100, 101, 103])
            XCTAssertEqual(try store.countsByState()[.queued], 21)
            XCTAssertEqual(try store.job(id: nulInText.id)?.kind, "a\u{FFFD}b", "NUL in text is stored as U+FFFD")
            XCTAssertNil(try store.job(id: finishedWithoutTime.id))
        }
    }

    func testParamsAreNotRewrittenByLaterUpserts() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            let job = JobFixtures.queued(params: #"{"first": true}"#)
            var changed = JobFixtures.running(job)
            changed.params = #"{"second": true}"#
            changed.kind = "other"
            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { _ in }
            writer.enqueue(.upsert(job), token: 1)
            writer.shutdown()
            let second = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { _ in }
            second.enqueue(.upsert(changed), token: 2)
            second.shutdown()
            let stored = try XCTUnwrap(try store.job(id: job.id))
            XCTAssertEqual(stored.state, .running)
            XCTAssertEqual(stored.params, #"{"first": true}"#)
            XCTAssertEqual(stored.kind, "echo")
        }
    }

    func testWriterReconnectsAfterItsConnectionIsKilled() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            let log = CommitLog()
            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { log.append($0) }
            writer.enqueue(.upsert(JobFixtures.queued()), token: 1)
            try waitUntil { log.tokens == [1] }
            let killed = try database.connection.execute("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = $1 AND pid <> pg_backend_pid()
                """, ["\(database.configuration.applicationName) writer"])
            XCTAssertGreaterThanOrEqual(killed.rowCount, 1)
            let later = (2...30).map { (UInt64($0), JobFixtures.queued()) }
            for (token, job) in later { writer.enqueue(.upsert(job), token: token) }
            writer.shutdown()
            XCTAssertEqual(log.tokens, Array(1...30))
            XCTAssertEqual(try store.countsByState()[.queued], 30)
            XCTAssertGreaterThanOrEqual(writer.statistics.failedAttempts, 1)
        }
    }

    /// An outage: the writer's session is ended and its database refuses new connections for a
    /// while. Runs in a database of its own, since a database cannot refuse its own sessions.
    func testWriterKeepsWritesWhileTheDatabaseRefusesConnections() throws {
        try TestDatabase.with { database in
            let name = "\(database.schema)_outage"
            let admin = database.connection
            try admin.executeScript("CREATE DATABASE \(name)")
            defer { _ = try? admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            var components = try XCTUnwrap(URLComponents(string: database.url))
            components.path = "/\(name)"
            let configuration = try StoreConfiguration(
                databaseURL: try XCTUnwrap(components.string), retryDelayMilliseconds: 20, maxRetryDelayMilliseconds: 100,
                applicationName: name)
            let store = try JobStore(configuration: configuration, logger: database.logger)
            try store.migrate()
            let log = CommitLog()
            let writer = try JobStoreWriter(configuration: configuration, logger: database.logger) { log.append($0) }
            writer.enqueue(.upsert(JobFixtures.queued()), token: 1)
            try waitUntil { log.tokens == [1] }

            try admin.executeScript("ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS false")
            try admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", ["\(name) writer"])
            writer.enqueue(.upsert(JobFixtures.queued()), token: 2)
            Thread.sleep(forTimeInterval: 0.5)
            XCTAssertEqual(log.tokens, [1], "nothing is acknowledged while the database is unreachable")
            XCTAssertGreaterThanOrEqual(writer.statistics.failedAttempts, 2, "the writer kept retrying")
            try admin.executeScript("ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS true")

            writer.shutdown()
            XCTAssertEqual(log.tokens, [1, 2])
            XCTAssertEqual(try store.countsByState()[.queued], 2)
        }
    }

    private func json(_ text: String) throws -> NSObject {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as! NSObject
    }

    private func waitUntil(seconds: Double = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { throw TimedOut() }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}

struct TimedOut: Error {}

/// Tokens from `onCommitted`, in the order they came, across threads.
final class CommitLog: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [UInt64] = []
    func append(_ tokens: [UInt64]) { lock.withLock { values += tokens } }
    var tokens: [UInt64] { lock.withLock { values } }
}

final class RejectionLog: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [JobWriteRejection] = []
    func append(_ rejections: [JobWriteRejection]) { lock.withLock { values += rejections } }
    var rejections: [JobWriteRejection] { lock.withLock { values } }
}
