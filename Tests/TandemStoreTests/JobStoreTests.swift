import Foundation
import TandemStore
import TestSupport
import XCTest

final class JobStoreTests: XCTestCase {
    func testRecoveryRequeuesOrFailsRunningJobs() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            let queuedOld = JobFixtures.queued(created: JobFixtures.time(0))
            let runningRetryable = JobFixtures.running(JobFixtures.queued(created: JobFixtures.time(1)), worker: "echo-7", attempts: 1)
            var exhausted = JobFixtures.running(JobFixtures.queued(created: JobFixtures.time(2)), worker: "echo-8", attempts: 3)
            exhausted.maxAttempts = 3
            let finished = JobFixtures.succeeded(JobFixtures.queued(created: JobFixtures.time(3)))
            let urgent = JobFixtures.queued(priority: 5, created: JobFixtures.time(4))
            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { _ in }
            writer.enqueue(contentsOf: [queuedOld, runningRetryable, exhausted, finished, urgent].map { .upsert($0) }, token: 1)
            writer.shutdown()

            let queued = try store.recoverAfterRestart(reason: "router restarted")
            XCTAssertEqual(queued.map(\.id), [urgent.id, queuedOld.id, runningRetryable.id])

            let requeued = try XCTUnwrap(try store.job(id: runningRetryable.id))
            XCTAssertEqual(requeued.state, .queued)
            XCTAssertNil(requeued.worker)
            XCTAssertEqual(requeued.attempts, 1)
            let requeuedEvent = try XCTUnwrap(try store.events(jobId: runningRetryable.id).last)
            XCTAssertEqual(requeuedEvent.kind, "requeued")
            XCTAssertEqual(requeuedEvent.worker, "echo-7")
            XCTAssertEqual(requeuedEvent.detail, #"{"reason": "router restarted"}"#)

            let failed = try XCTUnwrap(try store.job(id: exhausted.id))
            XCTAssertEqual(failed.state, .failed)
            XCTAssertEqual(failed.error, "router restarted")
            XCTAssertEqual(failed.errorCode, "attempts_exhausted")
            XCTAssertNotNil(failed.finishedAt)
            XCTAssertEqual(try store.events(jobId: exhausted.id).map(\.kind), ["failed"])

            XCTAssertEqual(try store.job(id: finished.id), finished)
            XCTAssertEqual(try store.recoverAfterRestart(reason: "again").map(\.id), queued.map(\.id), "recovery is idempotent")
            XCTAssertEqual(try store.countsByState(), [.queued: 3, .running: 0, .succeeded: 1, .failed: 1, .cancelled: 0])
        }
    }

    func testListingByState() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            let jobs = (0..<5).map { JobFixtures.queued(created: JobFixtures.time(Double($0))) }
            let writer = try JobStoreWriter(configuration: database.configuration, logger: database.logger) { _ in }
            writer.enqueue(contentsOf: jobs.map { .upsert($0) } + [.upsert(JobFixtures.succeeded(jobs[0]))], token: nil)
            writer.shutdown()
            XCTAssertEqual(try store.jobs(state: .queued, limit: 3).map(\.id), [jobs[4].id, jobs[3].id, jobs[2].id])
            XCTAssertEqual(try store.jobs(state: .succeeded, limit: 10).map(\.id), [jobs[0].id])
            XCTAssertEqual(try store.jobs(state: nil, limit: 10).count, 5)
            XCTAssertNil(try store.job(id: UUID()))
        }
    }

    func testSingleRowInsertRateIsMeasured() throws {
        try TestDatabase.with { database in
            let store = try database.migratedStore()
            XCTAssertGreaterThan(try store.measureSingleRowInsertRate(rows: 20), 0)
        }
    }
}
